"""A real SMTP server for the mail tests: aiosmtpd, printing each message
it receives as one JSON line on stdout.

    smtp_sink.py [PORT] [--dir DIR]     (PORT 0 or nothing: any free port)

The first line is {"listening": PORT}; then one line per message:
{"from": ..., "to": [...], "subject": ..., "body": ..., "data": "<raw>"},
subject and body decoded by Python's own MIME parser. With --dir, each
message is also written to DIR/<n>.json (the browser tests read them there).
"""

import asyncio
import email
import email.policy
import json
import os
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        line = json.dumps(
            {
                "from": envelope.mail_from,
                "to": envelope.rcpt_tos,
                "subject": str(message["subject"]),
                "header_from": str(message["from"]),
                "body": message.get_content(),
                "data": envelope.content.decode("utf-8", "replace"),
            }
        )
        print(line, flush=True)
        if self.directory:
            self.count += 1
            path = os.path.join(self.directory, f"{self.count:05d}.json")
            with open(path + ".tmp", "w") as f:
                f.write(line)
            os.replace(path + ".tmp", path)
        return "250 Message accepted for delivery"


async def main(port, directory):
    loop = asyncio.get_running_loop()
    sink = Sink(directory)
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="livedrop-test-sink"), "127.0.0.1", port
    )
    print(json.dumps({"listening": server.sockets[0].getsockname()[1]}), flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    args = sys.argv[1:]
    directory = None
    if "--dir" in args:
        i = args.index("--dir")
        directory = args[i + 1]
        os.makedirs(directory, exist_ok=True)
        del args[i : i + 2]
    asyncio.run(main(int(args[0]) if args else 0, directory))
