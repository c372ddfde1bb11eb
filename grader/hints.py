"""Hints: what a failure most likely means and what to look at next, in Chinese and English.

Each hint has a stable id. Checks and diagnoses refer to hints by id; reports render them
in the student's language. ``mistake`` is the number of the mistake in the lab's list of
mistakes seen in real submissions (0 for hints that are not on that list).

A hint text may contain ``{detail}``: the diagnosis fills it in (a TODO's text, the line
of a syntax error, the exception a thread died of).
"""

from collections import namedtuple

Hint = namedtuple("Hint", "mistake zh en")

HINTS = {
    # --------------------------------------------------------------- before anything runs
    "missing-file": Hint(
        0,
        "找不到要评分的文件: {detail}。用 --client / --server 指定文件的路径。",
        "The file to grade is missing: {detail}. Point --client / --server at your files."),
    "syntax-error": Hint(
        0,
        "文件有语法错误, 程序根本无法运行: {detail}。先用 python 直接运行它, 按报错的行号改正。",
        "The file has a syntax error, so it cannot run at all: {detail}. Run it with python "
        "and fix the line the error names."),
    "file-not-utf8": Hint(
        0,
        "文件不是用 UTF-8 编码保存的 (多半是 GBK, 记事本里叫 ANSI), Python 无法运行它: {detail}。"
        "在编辑器里把它另存为 UTF-8 (VS Code: 点右下角的编码 → 通过编码保存 → UTF-8; 记事本: 另存为 → 编码 UTF-8)。",
        "The file is not saved as UTF-8 (GBK most likely, \"ANSI\" in Notepad), so Python cannot "
        "run it: {detail}. Save it as UTF-8 in your editor (VS Code: the encoding in the status "
        "bar → Save with Encoding → UTF-8; Notepad: Save As → Encoding UTF-8)."),
    "stdout-not-utf8": Hint(
        0,
        "你的程序把输出设成了 {detail} 编码, 评分程序 (以及 macOS/Linux 的终端) 读的是 UTF-8, 所以认不出你打印的"
        "提示语。去掉改 sys.stdout 编码的那一行; 要在 Windows 控制台里正常显示中文, 用 "
        "sys.stdout.reconfigure(errors='replace') 或者在运行前设置 PYTHONIOENCODING=utf-8。",
        "Your program sets its output to {detail}; the grader (and macOS/Linux terminals) read "
        "UTF-8, so the prompts you print are not recognised. Remove the line that changes "
        "sys.stdout's encoding; for Chinese on a Windows console, use "
        "sys.stdout.reconfigure(errors='replace') or set PYTHONIOENCODING=utf-8 before running."),
    "stdin-not-utf8": Hint(
        0,
        "你输入的中文到达时变成了乱码: 你的程序用 {detail} 解码键盘输入, 而输入是 UTF-8 (评分程序、"
        "macOS/Linux 的终端都是)。去掉改 sys.stdin 编码的那一行, 直接用 input()。",
        "The Chinese you typed arrived garbled: your program decodes the keyboard as {detail}, "
        "but the input is UTF-8 (from the grader, and from macOS/Linux terminals). Remove the "
        "line that changes sys.stdin's encoding and use input() as it is."),
    "unfinished-todo": Hint(
        0,
        "还有TODO没有完成: {detail}。完成这个TODO, 并删掉它下面的 raise NotImplementedError 那一行。",
        "A TODO is unfinished: {detail}. Complete it and delete the `raise NotImplementedError` "
        "line under it."),
    "crash": Hint(
        0,
        "程序 (或它的一个线程) 因为异常而终止: {detail}。看上面 stderr 里的 Traceback, 最后一行是异常, "
        "它上面一行是出错的代码。",
        "Your program (or one of its threads) died of an exception: {detail}. Read the "
        "traceback in stderr above: the last line is the exception, the line above it the code."),
    "stuck-at-start": Hint(
        0,
        "程序启动后没有走到下一步 (没有提问、没有连接、也没有结束): {detail}。检查 __init__ 里是否有死循环, "
        "或者在等一个评分程序不认识的输入。",
        "Your program started but never got on (no prompt, no connection, no exit): {detail}. "
        "Look for an endless loop in __init__, or an input the grader does not recognise."),
    "stdin-unanswered": Hint(
        0,
        "程序在等评分程序无法回答的输入: 最后打印的是 {detail}。保留框架给出的提示语 "
        "(请输入聊天服务器IP / 端口 / 工作模式 / 最大允许连接的客户端数量)。",
        "Your program waits for input the grader cannot answer; the last thing it printed was "
        "{detail}. Keep the prompts the framework gives (IP, port, mode, most clients)."),
    "network-refused": Hint(
        0,
        "评分时只允许访问本机 127.0.0.1, 你的代码试图访问 {detail}。不要把IP写死在代码里, "
        "用 self.ip / self.port (它们来自输入)。",
        "While grading only loopback (127.0.0.1) may be used; your code tried {detail}. "
        "Do not hard-code an address: use self.ip / self.port, which come from the prompts."),
    # ------------------------------------------------------------------ connection basics
    "not-connected": Hint(
        0,
        "没有建立连接。客户端: 检查 connect((self.ip, self.port)); 服务器: 检查 bind、listen 和 accept "
        "是否都做了。",
        "No connection was made. Client: check connect((self.ip, self.port)). Server: check "
        "that bind, listen and accept all happen."),
    "nothing-sent": Hint(
        0,
        "键盘输入的内容没有发出去。发送循环里要 input() 一行, 再 sendall(line.encode('utf-8'))。",
        "What was typed never went out. The send loop must input() a line, then "
        "sendall(line.encode('utf-8'))."),
    "nothing-printed": Hint(
        0,
        "收到的消息没有打印出来。接收循环里要 recv, decode('utf-8'), 再 print。",
        "Messages that arrived were not printed. The receive loop must recv, "
        "decode('utf-8'), then print."),
    "not-utf8": Hint(
        0,
        "中文没有原样传过去。发送时用 encode('utf-8'), 接收时用 decode('utf-8'), 两边都是 UTF-8。",
        "Chinese text did not arrive intact. Send with encode('utf-8') and decode with "
        "decode('utf-8'): UTF-8 on both sides."),
    "split-character": Hint(
        0,
        "一个汉字 (3个字节) 被拆到了两次 recv 里, 单独 decode 每一块会出错或丢字。用 "
        "codecs.getincrementaldecoder('utf-8')() 解码, 它会把半个字留到下一次。",
        "A Chinese character (3 bytes) arrived split over two recv calls; decoding each chunk "
        "alone fails or loses it. Decode with codecs.getincrementaldecoder('utf-8')(), which "
        "keeps half a character for the next chunk."),
    "q-not-sent": Hint(
        0,
        "输入 q 后, q 要先发给对方, 然后再关闭socket。",
        "On q, send the q to the other side first, then close the socket."),
    "no-end-report": Hint(
        0,
        "对方关闭连接后, 接收线程应该打印 聊天已结束 再结束。",
        "Once the other side has closed, the receive thread should print 聊天已结束 and stop."),
    # -------------------------------------------------------------- the lab's mistake list
    "empty-recv": Hint(
        1,
        "常见错误1: 接收循环没有判断 b''。对方关闭连接后 recv 会一直立刻返回 b'', 程序就会无限打印 "
        "(或转发) 空消息。加上 if not data: break。",
        "Mistake 1: the receive loop never tests for b''. Once the other side has closed, "
        "recv returns b'' at once, forever, so the program prints (or relays) empty messages "
        "in a loop. Add `if not data: break`."),
    "wrong-client": Hint(
        2,
        "常见错误2: hub_close_client 关闭或宣布了错误的客户端, 可能用了循环结束后留下的循环变量。"
        "只用参数 addr。",
        "Mistake 2: hub_close_client closed or announced the wrong client, probably with a "
        "loop variable left over after its loop. Use the addr argument only."),
    "dict-changed": Hint(
        3,
        "常见错误3: 一个线程遍历 self.ip_client 时另一个线程增删了客户端 (RuntimeError: dictionary "
        "changed size during iteration), 遍历的线程就死了。用锁保护字典, 或遍历它的副本 list(...)。",
        "Mistake 3: one thread iterated self.ip_client while another added or removed a "
        "client (RuntimeError: dictionary changed size during iteration), which killed the "
        "iterating thread. Guard the dict with a lock, or iterate over a copy, list(...)."),
    "thread-not-started": Hint(
        4,
        "常见错误4: 创建了线程却没有调用 .start() ({detail}), 线程从来没有运行。",
        "Mistake 4: a thread was created but never .start()ed ({detail}), so it never ran."),
    "bare-except": Hint(
        5,
        "常见错误5: 一个空的 except: (或 except: pass, {detail}) 吞掉了错误, 程序带着旧的或未定义的变量继续运行。"
        "只捕获 OSError, 出错时结束循环。",
        "Mistake 5: a bare `except:` (or `except: pass`, {detail}) swallowed an error and the "
        "loop went on with a stale or undefined variable. Catch OSError only, and leave the loop."),
    "prompts-changed": Hint(
        6,
        "常见错误6: 框架给出的提问被删掉或改了顺序 (没有看到: {detail})。评分程序仍然给你评分, 但不要把 "
        "IP 或端口写死。",
        "Mistake 6: prompts the framework gives were removed or reordered (not seen: "
        "{detail}). The grader still grades you, but do not hard-code the IP or the port."),
    "listen-backlog": Hint(
        7,
        "常见错误7: listen(n) 的 n 只是等待队列的长度, 不限制在线人数。要自己数 self.ip_client 里有多少人, "
        "满了就告诉新来的客户端并关闭它。",
        "Mistake 7: the n of listen(n) only sizes the queue of waiting connections; it does "
        "not cap who is online. Count the clients in self.ip_client yourself and turn a "
        "newcomer away when the room is full."),
    "hostname-bind": Hint(
        8,
        "常见错误8: gethostbyname(gethostname()) 在不同电脑上可能是 127.0.0.1、127.0.1.1 或局域网地址。"
        "评分时它被换成了 127.0.0.1 (不扣分); 在别的电脑上运行时要注意。",
        "Mistake 8: gethostbyname(gethostname()) is 127.0.0.1, 127.0.1.1 or a LAN address "
        "depending on the machine. The grader mapped it to 127.0.0.1 (no points lost); "
        "mind it on other machines."),
    "no-departure-notice": Hint(
        0,
        "客户端离开时, 其他客户端没有收到通知。hub_close_client 要把 str(addr) + '已经离开了' 发给"
        "其他每一个客户端, 并关闭离开者的socket。",
        "When a client left, the others were not told. hub_close_client must send "
        "str(addr) + '已经离开了' to every other client and close the leaver's socket."),
    "no-relay": Hint(
        9,
        "常见错误9: 客户端都连上了, 却互相看不到消息: hub 要把每条消息 sendall 给 self.ip_client 里"
        "除了发送者以外的每一个客户端。",
        "Mistake 9: the clients were all connected but never saw each other's messages: the "
        "hub must sendall each message to every client in self.ip_client except its sender."),
    "echo-to-sender": Hint(
        9,
        "消息被发回给了发送者自己。转发时跳过发送者: if addr == sender: continue。",
        "A message was sent back to its own sender. Skip the sender when relaying: "
        "`if addr == sender: continue`."),
    "relay-prefix": Hint(
        0,
        "转发的消息要以发送者的地址开头: str(发送者的addr) + ' : ' + 消息, 这样大家才知道是谁说的 "
        "(收到的是: {detail})。注意用发送者的地址, 不是接收者的。",
        "A relayed message must start with its sender's address: str(sender_addr) + ' : ' + "
        "text, so everyone knows who spoke (what arrived: {detail}). Use the sender's address, "
        "not the receiver's."),
    "no-announce": Hint(
        0,
        "客户端连上后, 服务器要打印它的地址, 例如 print(str(addr) + '已成功连接!')。",
        "Once a client has connected, the server must print its address, e.g. "
        "print(str(addr) + '已成功连接!')."),
    "shared-dict": Hint(
        3,
        "常见错误3: 有客户端加入或离开时, 聊天室的某个线程停止了转发。每个用到 self.ip_client 的线程 "
        "(加入、删除、遍历、打印) 都要持有同一把锁, 或者遍历它的副本 list(...)。",
        "Mistake 3: while clients joined and left, a thread of your hub stopped relaying. Every "
        "thread that touches self.ip_client (adding, removing, iterating, printing it) must "
        "hold one lock, or iterate over a copy, list(...)."),
    "room-count": Hint(
        7,
        "有人离开后, 他的位置要还给聊天室: 人数要从 self.ip_client 里数 (len(self.ip_client)), "
        "或者离开时把计数减一。",
        "When someone leaves, their place must be given back: count the room with "
        "len(self.ip_client), or decrease your counter when a client leaves."),
    "q-inside-text": Hint(
        0,
        "只有一行正好是 q 才表示离开: 用 msg.strip() == 'q', 不要用 'q' in msg (a quick question 里也有 q)。",
        "Only a line that is exactly q means leaving: test msg.strip() == 'q', not 'q' in msg "
        "(\"a quick question\" has a q in it too)."),
    "only-first": Hint(
        0,
        "只有第一条消息 (或第一行) 被处理了: 接收 (或发送) 要放在 while True 循环里, 每条消息都要 recv "
        "(或 input) 一次、处理一次; 不要在循环里多调用一次 recv, 那样会丢掉每隔一条的消息。",
        "Only the first message (or line) was handled: the receive (or send) must sit in a "
        "while True loop that calls recv (or input) once per message and handles each one; an "
        "extra recv in the loop loses every other message."),
    "p2p-leave-notice": Hint(
        0,
        "客户端发来 q 时, 服务器要打印它离开了 (例如 str(addr) + '已退出聊天'), 不要把 q 当成普通消息打印。",
        "When the client sends q, the server must say that it left (e.g. str(addr) + "
        "'已退出聊天'), not print the q as an ordinary message."),
    "resource-limit": Hint(
        0,
        "你的程序超出了评分时的资源限制, 被系统停止了: {detail}。检查是否有无限循环地创建进程、写文件或分配内存。",
        "Your program went over a limit of the grading sandbox and was stopped: {detail}. "
        "Look for a loop that starts processes, writes a file or allocates memory."),
    "flood": Hint(
        0,
        "你的程序输出了好几MB的内容, 评分程序把它停下了。找一找在循环里 print 的地方 (例如调试用的 print)。",
        "Your program printed megabytes of output, so the grader stopped it. Look for a print "
        "inside a loop (a debugging print, say)."),
    "no-exit": Hint(
        10,
        "常见错误10: 聊天结束后程序没有退出: 还有线程卡在 input() 或 recv() 里。接收线程在 b'' 或 "
        "OSError 时要结束循环; 关闭socket前先 shutdown(socket.SHUT_RDWR)。",
        "Mistake 10: the program did not end after the chat: a thread is still blocked in "
        "input() or recv(). The receive loop must end on b'' or OSError; call "
        "shutdown(socket.SHUT_RDWR) before close()."),
    "plain-send-thread": Hint(
        10,
        "常见错误10: 聊天结束后程序没有退出: 发送线程 ({detail}) 是普通 (非守护) 线程, 还在 input() 里等键盘, "
        "进程要等到键盘输入结束才会退出。创建线程时加 daemon=True, 程序就会马上结束。(课程原来的框架就是这样"
        "启动发送线程的, 所以只扣 \"程序结束\" 这一小项。)",
        "Mistake 10: the program did not end after the chat: the send thread ({detail}) is a "
        "plain (non-daemon) thread still waiting in input(), so the process stays until "
        "keyboard input ends. Create the thread with daemon=True and the program ends at once. "
        "(The course's original framework starts its send threads this way, which is why only "
        "the small 'ends' part is lost.)"),
    "send-to-departed": Hint(
        11,
        "常见错误11: 向已经离开的客户端的 (已关闭的) socket 发送, 抛出的异常杀死了转发线程。"
        "离开的客户端要从 self.ip_client 里删掉; sendall 要放在 try/except OSError 里。",
        "Mistake 11: sending to a departed client's closed socket raised, and that killed the "
        "relaying thread. Delete departed clients from self.ip_client, and wrap sendall in "
        "try/except OSError."),
    # -------------------------------------------------------------------------- notes
    "close-wakes-recv": Hint(
        10,
        "提示 (不扣分): 你的代码在另一个线程还卡在 recv() 时直接 close() 了socket ({detail})。这在 Windows "
        "上能唤醒 recv, 但在 Linux 上程序会一直卡住。close() 之前先调用 shutdown(socket.SHUT_RDWR)。",
        "Note (no points lost): your code close()d a socket while another thread was blocked "
        "in recv() on it ({detail}). That wakes recv on Windows, but on Linux the program "
        "hangs. Call shutdown(socket.SHUT_RDWR) before close()."),
    "sends-newline": Hint(
        0,
        "提示 (不扣分): 你的客户端在发出的每一行后面加了换行 ({detail})。实验的协议里没有换行: 输入的一行"
        "就是一次 send, 不带 \\n (用 sys.stdin.readline() 读的行要先 .rstrip('\\n'))。只认 'q' 的服务器"
        "会把 'q\\n' 当成普通消息。",
        "Note (no points lost): your client sends a newline after each line it sends ({detail}). "
        "The lab's protocol has none: one typed line is one send, without \\n (a line read with "
        "sys.stdin.readline() needs .rstrip('\\n') first). A server that looks for 'q' alone "
        "takes 'q\\n' for an ordinary message."),
    "address-mapped": Hint(
        0,
        "提示 (不扣分): {detail} 在评分时被换成了 127.0.0.1。",
        "Note (no points lost): {detail} was replaced by 127.0.0.1 while grading."),
}


def render(hint_id, lang, detail=""):
    """The text of one hint in ``lang`` ("zh" or "en"), with its detail filled in."""
    hint = HINTS[hint_id]
    text = hint.zh if lang == "zh" else hint.en
    return text.replace("{detail}", str(detail) if detail else ("?" if "{detail}" in text else ""))
