"""同一个实验接口的另几种写法 / the lab's interface, built other ways

这里的程序和 reference/chat_client.py、reference/chat_server.py 的界面完全一样: 同样的提示 (请输入聊天服务器IP、
请输入聊天服务器端口、请输入服务器工作模式(p2p,hub)、请输入最大允许连接的客户端数量), 同样的输出
(与<ip>连接建立成功..., <addr> : <text>, 聊天已结束, 已退出聊天, 已经离开了), 同样的协议; 只是内部结构不同。
The programs here show exactly the interface of reference/chat_client.py and
reference/chat_server.py (same prompts, same printed lines, same wire protocol); only their
insides differ:

    selectors_client.py   客户端, 一个线程, 一个选择器同时等键盘和socket
                          the client in one thread: one selector watches the keyboard and the socket
    selectors_server.py   服务器 (p2p 和 hub), 一个选择器循环, 每个客户端一个有上限的发送缓冲区
                          the server (p2p and hub) in one selector loop, a bounded Outbox per client
    asyncio_hub.py        聊天室服务器 (只有 hub 模式), 每个客户端一个协程
                          the chat-room server (hub mode only), one coroutine per client

它们有两个用途 / what they are for:

1. 回答实验的思考题 2 ("除了线程, 还有什么办法让socket全双工?"): 用能运行的代码, 和线程版本逐段对照。
   They answer the lab's thinking question 2 ("besides threads, how else can a socket be full
   duplex?") with running code that reads side by side with the threaded version.
2. 说明评分器只看行为, 不看写法: tests/test_variants.py 用真正的评分器给它们打分, 必须是满分; 它还检查它们
   确实没有收发线程 (唯一允许的线程是 Windows 上转发键盘输入的那个, 原因见 selectors_client.py)。
   They show that the grader judges behaviour, not implementation: tests/test_variants.py grades
   them with the real grader and expects full marks, and checks that they really have no
   send/receive threads (the one thread allowed forwards the keyboard on Windows; see
   selectors_client.py for why).

这些是给教师看的完整程序, 不会被做成学生的骨架 (没有 BEGIN/END SOLUTION 标记); 每个文件都可以单独运行,
也可以单独发给学生: python reference/variants/selectors_client.py
These are complete programs for instructors, never turned into skeletons (no BEGIN/END SOLUTION
markers); each file runs, and can be handed out, on its own:
python reference/variants/selectors_client.py

评分 / grading, e.g.::

    python -m grader --client reference/variants/selectors_client.py --server reference/chat_server.py -k client_
    python -m grader --client reference/chat_client.py --server reference/variants/selectors_server.py -k "p2p_ or hub_"
    python -m grader --client reference/chat_client.py --server reference/variants/asyncio_hub.py -k hub_
"""
