"""The lab's programs talking to each other: reference client with reference server, and
with the instructor's echo and hub servers, all as real processes on loopback."""

from grader import timeouts
from tests.conftest import CHAT_OVER, CONNECTED_CLIENT

def connected_client(start_client, port):
    client = start_client(port)
    client.wait_for(CONNECTED_CLIENT)
    return client


def test_client_with_the_p2p_server(start_server, start_client):
    server, port = start_server("p2p")
    client = connected_client(start_client, port)
    server.wait_for("已成功连接!")
    client.write_line("你好, 服务器")
    server.wait_for(" : 你好, 服务器")
    server.write_line("你好, 客户端")
    client.wait_for("你好, 客户端")
    client.write_line("q")
    server.wait_for("已退出聊天")
    client.wait_for(CHAT_OVER)
    assert client.wait_exit(timeouts.EXIT_BAR) == 0, client.describe()
    assert server.wait_exit(timeouts.EXIT_BAR) == 0, server.describe()


def test_three_clients_in_the_reference_hub(start_server, start_client):
    server, port = start_server("hub")
    clients = [connected_client(start_client, port) for _ in range(3)]
    server.wait_for("已成功连接!", count=3)
    clients[0].write_line("大家好")
    for other in clients[1:]:
        other.wait_for("大家好")
    clients[1].write_line("q")
    clients[1].wait_for(CHAT_OVER)
    assert clients[1].wait_exit(timeouts.EXIT_BAR) == 0
    for other in (clients[0], clients[2]):
        other.wait_for("已经离开了")


def test_client_with_the_instructor_echo_server(instructor_server, start_client):
    server, port = instructor_server("classroom.echo_server")
    client = connected_client(start_client, port)
    client.write_line("你好")
    client.wait_for("收到: 你好")
    client.write_line("q")
    assert client.wait_exit(timeouts.EXIT_BAR) == 0, client.describe()


def test_clients_in_the_instructor_hub(instructor_server, start_client):
    server, port = instructor_server("classroom.hub_server")
    first = connected_client(start_client, port)
    second = connected_client(start_client, port)
    first.wait_for("加入了聊天室")  # the hub has registered the second client
    first.write_line("同学们好")
    second.wait_for(" : 同学们好")
    second.write_line("q")
    first.wait_for("已经离开了")
    assert second.wait_exit(timeouts.EXIT_BAR) == 0, second.describe()
