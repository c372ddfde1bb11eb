# A client that prints the names of the variables in its environment, looking for the
# instructor's secrets (tokens, keys) a copied environment would hand it.
import os
import sys

print('environment: %s' % ' '.join(sorted(os.environ)), file=sys.stderr, flush=True)
print('请输入聊天服务器IP', flush=True)
input()
