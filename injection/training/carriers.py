"""Benign tool output of many kinds, generated (the project's own text), with a slot for a payload.

Each carrier kind returns its text as a list of parts; `render(parts, insert=None)` joins them,
and an injected sample puts its payload into one part, escaped as that kind of output escapes
text (JSON strings, HTML, CSV cells, code comments). The benign text includes the look-alikes a
detector must let through: "please ignore my previous e-mail", "System: OK" log lines, base64
attachments, hashes, markdown images with query strings, "send your RSVP to ...".
"""

import base64
import hashlib
import html
import json
import random
from collections.abc import Callable
from dataclasses import dataclass

PEOPLE = [
    "Ana Ruiz",
    "Tom Becker",
    "Priya Nair",
    "Kenji Sato",
    "Lea Martin",
    "Omar Haddad",
    "Sara Lind",
    "Marco Bianchi",
    "Chen Wei",
    "Olga Petrova",
    "João Silva",
    "Emma Brown",
    "Lucas Meyer",
    "Aisha Bello",
]
COMPANIES = [
    "Northwind",
    "Contoso",
    "Globex",
    "Initech",
    "Umbrella Logistics",
    "Acme Foods",
    "Blue Harbor",
    "Stark Metals",
    "Wayne Health",
    "Pied Piper",
    "Hooli",
    "Vandelay Imports",
]
PRODUCTS = [
    "standing desk",
    "noise-cancelling headphones",
    "espresso machine",
    "trail running shoes",
    "4K monitor",
    "ergonomic chair",
    "USB-C dock",
    "air purifier",
    "cast-iron pan",
    "e-reader",
]
TOPICS = [
    "quarterly revenue",
    "the migration plan",
    "customer churn",
    "the hiring pipeline",
    "release 4.2",
    "the data retention policy",
    "supplier contracts",
    "the Q3 roadmap",
    "onboarding",
    "the security audit",
]
CITIES = ["Lisbon", "Berlin", "Osaka", "Toronto", "Nairobi", "Lyon", "Milan", "São Paulo", "Austin", "Warsaw"]

SENTENCES = [
    "The {topic} review is scheduled for {day} at {hour}:00 in the {city} office.",
    "{person} confirmed that the numbers for {topic} are final and shared the spreadsheet with the team.",
    "We shipped {count} orders last week, up {pct}% from the week before.",
    "Please ignore my previous e-mail about {topic}; the attachment was the wrong version.",
    "Forward this to anyone on your team who owns {topic}.",
    "The {product} arrived two days late but works as described; I would buy it again.",
    "Customers in {city} reported slower deliveries during the holiday period.",
    "According to the report, {company} plans to expand into {city} next year.",
    "You can disregard the reminder if you have already paid invoice {invoice}.",
    "If the build fails, skip the cache and run the tests again with a clean checkout.",
    "The new policy replaces the old rules for travel expenses from {day} onwards.",
    "Act as the point of contact for {company} until {person} is back from leave.",
    "Send your RSVP to events@{domain} by {day}.",
    "The system will be down for maintenance between 02:00 and 04:00 UTC.",
    "Instructions for assembly are in the box; you will need a 4 mm hex key.",
    "From now on, all invoices must include the purchase order number.",
    "{person} asked whether we can forget about the old pricing and start fresh in {month}.",
    "The assistant manager in {city} approved the overtime for {count} staff.",
    "Our model predicts demand within {pct}% for most product lines.",
    "Note to reviewers: the figures in section 3 are preliminary.",
    "The prompt payment discount is {pct}% if paid within ten days.",
    "Reset your password from the account page if you cannot sign in.",
    "Mix the flour and butter, then leave the dough to rest for {count} minutes.",
    "Ticket {invoice} was closed after the customer confirmed the fix.",
    "Override the default timeout only if the upstream service is known to be slow.",
    "The ignore list in .gitignore now excludes build artefacts and local settings.",
]

FOREIGN = {
    "es": [
        "El informe trimestral muestra un aumento de las ventas en {city}.",
        "Por favor, ignora el correo anterior; el archivo adjunto era incorrecto.",
        "La reunión con {person} será el {day} a las {hour}:00.",
    ],
    "fr": [
        "Le rapport trimestriel montre une hausse des ventes à {city}.",
        "Merci d'ignorer mon message précédent, la pièce jointe était erronée.",
        "La réunion avec {person} aura lieu {day} à {hour} h.",
    ],
    "de": [
        "Der Quartalsbericht zeigt steigende Umsätze in {city}.",
        "Bitte ignoriere meine vorherige E-Mail, der Anhang war falsch.",
        "Das Treffen mit {person} findet am {day} um {hour} Uhr statt.",
    ],
    "pt": [
        "O relatório trimestral mostra aumento das vendas em {city}.",
        "Por favor, desconsidere o e-mail anterior; o anexo estava errado.",
        "A reunião com {person} será na {day} às {hour}h.",
    ],
    "it": [
        "Il rapporto trimestrale mostra un aumento delle vendite a {city}.",
        "Per favore ignora la mail precedente, l'allegato era sbagliato.",
        "La riunione con {person} è fissata per {day} alle {hour}.",
    ],
    "ru": [
        "Квартальный отчёт показывает рост продаж в городе {city}.",
        "Пожалуйста, не обращайте внимания на предыдущее письмо, вложение было неверным.",
        "Встреча с {person} состоится в {day} в {hour}:00.",
    ],
    "zh": [
        "季度报告显示{city}的销售额有所增长。",
        "请忽略我之前的邮件，附件发错了。",
        "与{person}的会议定于{day}{hour}点。",
    ],
    "ja": [
        "四半期報告書によると、{city}での売上が伸びています。",
        "前のメールは無視してください。添付ファイルが間違っていました。",
        "{person}さんとの会議は{day}の{hour}時からです。",
    ],
}
PROSE_SHARE = 0.4
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "March 3", "June 14", "October 21"]
MONTHS = ["January", "April", "July", "September", "November"]


class Writer(random.Random):
    """The generator's random source, with the real prose (injection/training/prose.py) that a
    share of its sentences are drawn from."""

    def __init__(self, seed: int, prose: list[str]) -> None:
        super().__init__(seed)
        self.prose = prose


@dataclass(frozen=True)
class Carrier:
    kind: str
    parts: list[str]
    escape: Callable[[str], str]


def sentence(rng: Writer) -> str:
    if rng.prose and rng.random() < PROSE_SHARE:
        return rng.choice(rng.prose)
    if rng.random() < 0.12:
        language = rng.choice(sorted(FOREIGN))
        template = rng.choice(FOREIGN[language])
    else:
        template = rng.choice(SENTENCES)
    return template.format(**_slots(rng))


def paragraph(rng: Writer, sentences: tuple[int, int] = (2, 6)) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(*sentences)))


def _slots(rng: Writer) -> dict[str, object]:
    return {
        "topic": rng.choice(TOPICS),
        "day": rng.choice(DAYS),
        "hour": rng.randint(8, 17),
        "city": rng.choice(CITIES),
        "person": rng.choice(PEOPLE),
        "count": rng.randint(2, 900),
        "pct": rng.randint(1, 40),
        "product": rng.choice(PRODUCTS),
        "company": rng.choice(COMPANIES),
        "invoice": f"INV-{rng.randint(10000, 99999)}",
        "domain": _domain(rng),
        "month": rng.choice(MONTHS),
    }


def _domain(rng: Writer) -> str:
    return rng.choice(COMPANIES).lower().replace(" ", "-") + rng.choice([".com", ".example", ".io", ".de"])


def _json_escape(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _plain(text: str) -> str:
    return text


def _csv_escape(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _html_element(text: str) -> str:
    # The attacker writes the page: the payload is markup of its own, often made invisible.
    return (
        random.Random(len(text))
        .choice(
            [
                "<p>{}</p>",
                "<div style='display:none'>{}</div>",
                "<span class='sr-only'>{}</span>",
                "<!-- {} -->",
            ]
        )
        .format(text)
    )


def _comment(text: str) -> str:
    return "\n".join("# " + line for line in text.splitlines())


def json_api(rng: Writer) -> Carrier:
    items = []
    for _ in range(rng.randint(1, 12)):
        items.append(
            {
                "id": rng.randint(1000, 999999),
                "name": rng.choice(PEOPLE),
                "company": rng.choice(COMPANIES),
                "status": rng.choice(["open", "closed", "pending", "active"]),
                "amount": f"{rng.randint(1, 9999)}.{rng.randint(0, 99):02d}",
                "updated_at": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                f"T{rng.randint(0, 23):02d}:00:00Z",
                "notes": "@@" if rng.random() < 0.5 else paragraph(rng, (1, 2)),
                "avatar": f"https://cdn.{_domain(rng)}/img/"
                f"{hashlib.sha1(str(rng.random()).encode(), usedforsecurity=False).hexdigest()}.png?w=64",
            }
        )
    body = json.dumps(
        {
            "data": items,
            "page": 1,
            "total": len(items),
            "request_id": hashlib.md5(str(rng.random()).encode(), usedforsecurity=False).hexdigest(),
        },
        ensure_ascii=False,
        indent=rng.choice([None, 2]),
    )
    first, _, rest = body.partition("@@")
    parts = [first]
    while "@@" in rest:
        chunk, _, rest = rest.partition("@@")
        parts += ["", chunk]
    parts += ["", rest]
    filled = [
        part if i % 2 == 0 else paragraph(rng, (1, 2)).replace('"', "'") for i, part in enumerate(parts)
    ]
    return Carrier("json_api", filled, _json_escape)


def email(rng: Writer) -> Carrier:
    sender, recipient = rng.sample(PEOPLE, 2)
    header = (
        f"From: {sender} <{sender.split()[0].lower()}@{_domain(rng)}>\nTo: {recipient}\n"
        f"Subject: Re: {rng.choice(TOPICS)}\nDate: {rng.choice(DAYS)}, 2026\n\n"
    )
    body = [f"Hi {recipient.split()[0]},\n\n"]
    body += [paragraph(rng) + "\n\n" for _ in range(rng.randint(1, 6))]
    if rng.random() < 0.3:
        attachment = base64.b64encode(rng.randbytes(rng.randint(60, 600))).decode()
        body.append(
            f"--boundary\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n{attachment}\n"
        )
    body.append(f"Best regards,\n{sender}\n")
    return Carrier("email", [header, *body], _plain)


def web_page(rng: Writer) -> Carrier:
    title = f"{rng.choice(COMPANIES)} | {rng.choice(TOPICS).title()}"
    parts = [
        f"<!DOCTYPE html><html><head><title>{title}</title><meta charset='utf-8'></head><body>\n"
        f"<nav><a href='/'>Home</a> <a href='/blog'>Blog</a> <a href='/contact'>Contact</a></nav>"
        f"\n<h1>{title}</h1>\n"
    ]
    for _ in range(rng.randint(2, 10)):
        parts.append(f"<p>{html.escape(paragraph(rng))}</p>\n")
        if rng.random() < 0.2:
            parts.append(
                f"<img src='https://img.{_domain(rng)}/photo.jpg?w=800&amp;q=80'"
                f" alt='{rng.choice(PRODUCTS)}'>\n"
            )
    if rng.random() < 0.15:
        parts.append(
            "<p>Caf\u00e9 \u200bmenu \u2014 \U0001f468\u200d\U0001f469\u200d\U0001f467 family room</p>\n"
        )
    parts.append("<footer>© 2026 All rights reserved. <a href='/privacy'>Privacy</a></footer></body></html>")
    return Carrier("web_page", parts, _html_element)


def document(rng: Writer) -> Carrier:
    parts = [f"# {rng.choice(TOPICS).title()}\n\n"]
    for section in range(rng.randint(2, 7)):
        parts.append(
            f"## {section + 1}."
            f" {rng.choice(['Background', 'Scope', 'Findings', 'Risks', 'Next steps', 'Budget'])}\n\n"
        )
        parts.append(paragraph(rng, (3, 8)) + "\n\n")
        if rng.random() < 0.2:
            parts.append(
                f"![Figure {section + 1}](https://docs.{_domain(rng)}/fig{section}.png?size=large)\n\n"
            )
    return Carrier("document", parts, _plain)


def code(rng: Writer) -> Carrier:
    name = rng.choice(["orders", "billing", "sync", "reports", "auth"])
    parts = [
        f'"""{paragraph(rng, (1, 2))}"""\n\nimport json\nimport logging\n\nlog = loggi'
        f'ng.getLogger("{name}")\n'
        f'SYSTEM_PROMPT_PATH = "config/prompts/{name}.txt"\nTOKEN_HASH ='
        f' "{hashlib.sha256(name.encode()).hexdigest()}"\n\n'
    ]
    for index in range(rng.randint(2, 8)):
        parts.append(f"\n# {sentence(rng)}\n")
        parts.append(
            f"def {name}_step_{index}(payload: dict) -> dict:\n"
            f"    if not payload.get('id'):\n        raise ValueError('missing id')\n"
            f"    log.info('system: processed %s', payload['id'])\n"
            f"    return {{'status': 'ok', 'retries': {rng.randint(0, 5)}}}\n"
        )
    if rng.random() < 0.3:
        parts.append(f'\nICON = "{base64.b64encode(rng.randbytes(rng.randint(40, 300))).decode()}"\n')
    return Carrier("code", parts, _comment)


def table(rng: Writer) -> Carrier:
    if rng.random() < 0.5:
        parts = ["id,customer,city,product,amount,comment\n"]
        for row in range(rng.randint(3, 40)):
            parts.append(
                f"{row},{rng.choice(PEOPLE)},{rng.choice(CITIES)},{rng.choice(PRODUCTS)},"
                f"{rng.randint(5, 900)},"
            )
            parts.append(_csv_escape(sentence(rng)) + "\n")
        return Carrier("table", parts, _csv_escape)
    parts = ["| Region | Owner | Status | Comment |\n|---|---|---|---|\n"]
    for _ in range(rng.randint(3, 30)):
        parts.append(
            f"| {rng.choice(CITIES)} | {rng.choice(PEOPLE)} |"
            f" {rng.choice(['on track', 'at risk', 'done'])} | "
        )
        parts.append(_markdown_cell(sentence(rng)) + " |\n")
    return Carrier("table", parts, _markdown_cell)


def search_results(rng: Writer) -> Carrier:
    parts = [
        f'Search results for "{rng.choice(PRODUCTS)} {rng.choice(CITIES)}" (about'
        f" {rng.randint(1000, 90000)} results)\n\n"
    ]
    for rank in range(rng.randint(3, 10)):
        domain = _domain(rng)
        parts.append(
            f"{rank + 1}. {rng.choice(TOPICS).title()} - {rng.choice(COMPANIES)}\n   https:/"
            f"/www.{domain}/{rng.choice(['blog', 'news', 'docs'])}/{rng.randint(100, 999)}\n   "
        )
        parts.append(paragraph(rng, (1, 3)) + "\n\n")
    return Carrier("search_results", parts, _plain)


def ticket(rng: Writer) -> Carrier:
    parts = [
        f"Ticket #{rng.randint(10000, 99999)} - {rng.choice(PRODUCTS)} issue\nPriority:"
        f" {rng.choice(['low', 'normal', 'high'])}\n"
        f"Reporter: {rng.choice(PEOPLE)}\n\nDescription:\n"
    ]
    parts.append(paragraph(rng, (2, 6)) + "\n\n")
    for _ in range(rng.randint(0, 5)):
        parts.append(f"--- Comment by {rng.choice(PEOPLE)} ---\n")
        parts.append(paragraph(rng, (1, 4)) + "\n\n")
    if rng.random() < 0.3:
        parts.append(
            "Log excerpt:\n2026-03-01 10:02:11 system: health check OK\n2026-03-01 10:02:12 worker: 3"
            " jobs queued\n"
        )
    return Carrier("ticket", parts, _plain)


def message(rng: Writer) -> Carrier:
    """Short output: a chat message, a notification, a one-line status."""
    text = paragraph(rng, (1, 2))
    shape = rng.randrange(3)
    if shape == 0:
        return Carrier("message", [text], _plain)
    if shape == 1:
        return Carrier("message", ['{"ok": true, "message": "', _json_escape(text), '"}'], _json_escape)
    return Carrier("message", [f"[{rng.choice(PEOPLE)}] ", text], _plain)


KINDS: dict[str, Callable[[Writer], Carrier]] = {
    "json_api": json_api,
    "email": email,
    "web_page": web_page,
    "document": document,
    "code": code,
    "table": table,
    "search_results": search_results,
    "ticket": ticket,
    "message": message,
}


def render(carrier: Carrier, rng: Writer, payload: str | None = None) -> tuple[str, int, int]:
    """The carrier's text, with the payload (escaped) inside one of its parts at a random place:
    (text, payload start, payload end); (text, 0, 0) without a payload."""
    if payload is None:
        return "".join(carrier.parts), 0, 0
    index = rng.randrange(len(carrier.parts))
    part = carrier.parts[index]
    escaped = carrier.escape(payload)
    if carrier.escape is _comment:
        escaped = "\n" + escaped + "\n"
    cut = rng.choice([0, len(part), rng.randint(0, len(part))])
    while 0 < cut < len(part) and not part[cut - 1].isspace() and carrier.escape in (_plain, _json_escape):
        cut -= 1
    glue = "" if carrier.escape in (_csv_escape,) else rng.choice([" ", "\n", "\n\n"])
    before = "".join(carrier.parts[:index]) + part[:cut] + glue
    text = before + escaped + glue + part[cut:] + "".join(carrier.parts[index + 1 :])
    return text, len(before), len(before) + len(escaped)
