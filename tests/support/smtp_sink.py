"""A real SMTP server for the mail tests: aiosmtpd, printing each message
it receives as one JSON line on stdout.

    smtp_sink.py [PORT]     (0 or nothing: any free port)

The first line is {"listening": PORT}; then one line per message:
{"from": ..., "to": [...], "subject": ..., "body": ..., "data": "<raw>"},
subject and body decoded by Python's own MIME parser.
"""

import asyncio
import email
import email.policy
import json
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        print(
            json.dumps(
                {
                    "from": envelope.mail_from,
                    "to": envelope.rcpt_tos,
                    "subject": str(message["subject"]),
                    "header_from": str(message["from"]),
                    "body": message.get_content(),
                    "data": envelope.content.decode("utf-8", "replace"),
                }
            ),
            flush=True,
        )
        return "250 Message accepted for delivery"


async def main(port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Sink(), hostname="livedrop-test-sink"), "127.0.0.1", port
    )
    print(json.dumps({"listening": server.sockets[0].getsockname()[1]}), flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
