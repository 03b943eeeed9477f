# A service that knows nothing of daemonkit, only systemd's protocol: it serves HTTP on the
# socket handed over as fd 3 (LISTEN_FDS) and says READY=1 on NOTIFY_SOCKET.
import os, signal, socket

server = socket.socket(fileno=3)
signal.signal(signal.SIGHUP, lambda *_: print("reloading", flush=True))
print("serving on port", server.getsockname()[1], flush=True)
address = os.environ["NOTIFY_SOCKET"]
notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
notify.sendto(b"READY=1", "\0" + address[1:] if address.startswith("@") else address)
while True:
    conn, _ = server.accept()
    conn.recv(65536)
    conn.sendall(b"HTTP/1.0 200 OK\r\n\r\nhello\n")
    conn.close()
