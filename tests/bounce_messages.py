# ruff: noqa: E501 — report lines are as long as the servers write them
"""Reports as mail servers write them, for the bounce job's tests and benchmark.

Written from the RFCs (3464 delivery status notifications, 3462 multipart/report, 5965 abuse
reports) and from the structure of real reports: Postfix (RET=HDRS: text/rfc822-headers; its
local delivery to a full mailbox as Postfix 3.7 wrote it),
Exchange (5.1.10 RESOLVER.ADR.RecipientNotFound, the whole message returned), Gmail (dns;
googlemail.com, "550-5.1.1" folded diagnostics), Exim's classic plain-text bounce (no
multipart/report: X-Failed-Recipients and the server's words under the address), an ARF
complaint as a mailbox provider's feedback loop sends it, an out-of-office auto-reply, and a
message nobody can make sense of.

Each function takes the message as the test server received it (`Received`) and returns the
bytes that would land in the bounce mailbox.
"""

from email.utils import formatdate


def _headers_of(received) -> str:
    head = received.data.split(b"\r\n\r\n", 1)[0].decode()
    return head.replace("\r\n", "\n")


def _envelope(received, reporter: str, subject: str, content_type: str) -> str:
    return (f"Return-Path: <>\n"
            f"Delivered-To: {received.mail_from}\n"
            f"From: Mail Delivery System <MAILER-DAEMON@{reporter}>\n"
            f"To: {received.mail_from}\n"
            f"Subject: {subject}\n"
            f"Date: {formatdate()}\n"
            f"Auto-Submitted: auto-replied\n"
            f"MIME-Version: 1.0\n"
            f"Content-Type: {content_type}\n")


def postfix(received, status="5.1.1", action="failed",
            diagnostic="x-unix; user unknown") -> bytes:
    """Postfix's bounce(8): notification, delivery-status, the returned headers."""
    recipient = received.rcpt_tos[0]
    boundary = "8C7A2176600.1733216400/mail.example.net"
    text = f"""{_envelope(received, "mail.example.net", "Undelivered Mail Returned to Sender",
                          f'multipart/report; report-type=delivery-status; boundary="{boundary}"')}
This is a MIME-encapsulated message.

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<{recipient}>: unknown user: "{recipient.split("@")[0]}"

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.net
X-Postfix-Queue-ID: 8C7A2176600
X-Postfix-Sender: rfc822; {received.mail_from}
Arrival-Date: {formatdate()}

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Diagnostic-Code: {diagnostic}

--{boundary}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

{_headers_of(received)}

--{boundary}--
"""
    return text.replace("\n", "\r\n").encode()


def postfix_mailbox_full(received) -> bytes:
    """Postfix 3.7's local(8) giving up on a mailbox over its size limit, as it wrote it: the
    Diagnostic-Code says only `x-unix; input/output error`, the reason is in the notification,
    the envelope id is the DSN's ENVID."""
    recipient = received.rcpt_tos[0]
    user = recipient.split("@")[0]
    reference = received.mail_from.split("+", 1)[1].split("@", 1)[0]
    boundary = "5F58E1740A8.1796299618/apply.example.org"
    content_type = f'multipart/report; report-type=delivery-status;\n\tboundary="{boundary}"'
    text = f"""{_envelope(received, "apply.example.org", "Undelivered Mail Returned to Sender",
                          content_type)}Content-Transfer-Encoding: 8bit

This is a MIME-encapsulated message.

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

This is the mail system at host apply.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<{recipient}>: cannot update mailbox /var/mail/{user} for user
    {user}. error writing message: File too large

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; apply.example.org
Original-Envelope-Id: {reference}
X-Postfix-Queue-ID: 5F58E1740A8
X-Postfix-Sender: rfc822; {received.mail_from}
Arrival-Date: {formatdate()}

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: failed
Status: 5.2.2
Diagnostic-Code: x-unix; input/output error

--{boundary}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers
Content-Transfer-Encoding: 8bit

{_headers_of(received)}

--{boundary}--
"""
    return text.replace("\n", "\r\n").encode()


def exchange(received) -> bytes:
    """Exchange / Microsoft 365 NDR: HTML notification, delivery-status, whole message."""
    recipient = received.rcpt_tos[0]
    boundary = "_000_MW4PR12MB7holder_"
    text = f"""{_envelope(received, "EXCH01.corp.example.com", "Undeliverable: " + str(received["Subject"]),
                          f'multipart/report; report-type=delivery-status; boundary="{boundary}"')}X-MS-Exchange-Message-Is-Ndr:
Content-Language: en-US

--{boundary}
Content-Type: text/html; charset="us-ascii"

<html><body><p><b><font color="#000066">Your message to {recipient} couldn't be delivered.</font></b></p>
<p>{recipient.split("@")[0]} wasn't found at {recipient.split("@")[1]}.</p></body></html>

--{boundary}
Content-Type: message/delivery-status

Reporting-MTA: dns;EXCH01.corp.example.com
Received-From-MTA: dns;relay.example.org
Arrival-Date: {formatdate()}

Original-Recipient: rfc822;{recipient}
Final-Recipient: rfc822;{recipient}
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup

--{boundary}
Content-Type: message/rfc822

{received.data.decode().replace(chr(13) + chr(10), chr(10))}
--{boundary}--
"""
    return text.replace("\n", "\r\n").encode()


def gmail(received, status="5.1.1") -> bytes:
    """Gmail's "Address not found": multipart/report, the headers returned."""
    recipient = received.rcpt_tos[0]
    boundary = "000000000000a1b2c3d4e5f60718"
    words = ("The email account that you tried to reach does not exist." if status == "5.1.1"
             else "The recipient's inbox is out of storage space.")
    text = f"""{_envelope(received, "googlemail.com", "Delivery Status Notification (Failure)",
                          f'multipart/report; boundary="{boundary}"; report-type=delivery-status')}
--{boundary}
Content-Type: text/plain; charset="UTF-8"

** Address not found **

Your message wasn't delivered to {recipient} because the address couldn't be found.

--{boundary}
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Received-From-MTA: dns; relay.example.org
Arrival-Date: {formatdate()}
X-Original-Message-ID: {received["Message-ID"]}

Final-Recipient: rfc822; {recipient}
Action: failed
Status: {status}
Remote-MTA: dns; gmail-smtp-in.l.google.com. (2a00:1450:400c:c07::1b, the
 server for the domain gmail.com.)
Diagnostic-Code: smtp; 550-{status} {words} Please try
 550-{status} double-checking the recipient's email address for typos or
 550 {status} unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser
Last-Attempt-Date: {formatdate()}

--{boundary}
Content-Type: text/rfc822-headers

{_headers_of(received)}

--{boundary}--
"""
    return text.replace("\n", "\r\n").encode()


def exim(received) -> bytes:
    """Exim's classic bounce: plain text, X-Failed-Recipients, the message returned inline."""
    recipient = received.rcpt_tos[0]
    text = f"""Return-Path: <>
Delivered-To: {received.mail_from}
X-Failed-Recipients: {recipient}
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mx.example.com>
To: {received.mail_from}
Subject: Mail delivery failed: returning message to sender
Date: {formatdate()}
Message-Id: <E1tIJ7v-0004Xk-2p@mx.example.com>

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {recipient}
    SMTP error from remote mail server after RCPT TO:<{recipient}>:
    550 5.1.1 <{recipient}>: Recipient address rejected: User unknown

------ This is a copy of the message, including all the headers. ------

{received.data.decode().replace(chr(13) + chr(10), chr(10))}
"""
    return text.replace("\n", "\r\n").encode()


def arf(received) -> bytes:
    """An RFC 5965 abuse report from a feedback loop: the original message attached."""
    recipient = received.rcpt_tos[0]
    boundary = "part1_13d.2e68ed54_boundary"
    text = f"""From: Feedback Loop <fbl@provider.example>
To: {received.mail_from}
Subject: FW: {received["Subject"]}
Date: {formatdate()}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="{boundary}"

--{boundary}
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
192.0.2.1 on {formatdate()}.

--{boundary}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ProviderFBL/1.0
Version: 1
Original-Mail-From: <{received.mail_from}>
Original-Rcpt-To: <{recipient}>
Arrival-Date: {formatdate()}
Reporting-MTA: dns; mail.provider.example
Source-IP: 192.0.2.1

--{boundary}
Content-Type: message/rfc822
Content-Disposition: inline

{received.data.decode().replace(chr(13) + chr(10), chr(10))}
--{boundary}--
"""
    return text.replace("\n", "\r\n").encode()


def auto_reply(received) -> bytes:
    recipient = received.rcpt_tos[0]
    text = f"""From: {recipient}
To: {received.mail_from}
Subject: Automatic reply: {received["Subject"]}
Auto-Submitted: auto-replied
In-Reply-To: {received["Message-ID"]}
Date: {formatdate()}

I am out of the office until Monday.
"""
    return text.replace("\n", "\r\n").encode()


def unknown() -> bytes:
    text = f"""From: someone@example.com
To: bounces@apply.example.org
Subject: Question about my application
Date: {formatdate()}

Hello, could you tell me whether my file arrived?
"""
    return text.replace("\n", "\r\n").encode()
