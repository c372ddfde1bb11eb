# A client that tries to forge its grade: it writes a perfect results.json wherever it can
# guess the grader keeps results, then reports what happened on stdout.
import os

guesses = [os.path.join(os.environ.get('AUTOGRADER_ROOT', '/autograder'), 'results', 'results.json')]
if os.environ.get('FORGE_INTO'):
    guesses.append(os.environ['FORGE_INTO'])
for path in guesses:
    try:
        with open(path, 'w') as forged:
            forged.write('{"score": 100, "tests": []}')
        print('forged', path, flush=True)
    except OSError as error:
        print('could not forge', path, error, flush=True)
print('请输入聊天服务器IP', flush=True)
input()
