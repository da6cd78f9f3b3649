"""
One message, rendered for email, SMS, push and WhatsApp.

The example of "Write one message for every channel": the guide includes the parts between
the markers, and the test suite runs this file and checks what it says it prints.
"""

# The comments show what each line prints; the texts carry the characters SMS trips on.
# ruff: noqa: ERA001, RUF001, RUF003, S101

from __future__ import annotations

import datetime as dt

import omnikit
from omnikit.connectors import TemplateRef

# --8<-- [start:brand]
brand = omnikit.Brand(
    name="Lisbon Boots",
    snippets={
        "sign-off": "The {{ brand.name }} team",
        "footer": "{{ brand.name }}, Rua Augusta 1, 1100-048 Lisboa. Reply STOP to opt out.",
    },
    senders={"email": "orders@boots.example", "sms": "LisbonBoot"},
    transliterate=True,  # curly quotes and long dashes become GSM-7 in SMS
)
# --8<-- [end:brand]

# --8<-- [start:message]
shipped = omnikit.Message(
    subject="Your order {{ order_id }} is on its way",
    body=(
        "Hi {{ first_name | default: 'there' }}, your order {{ order_id }} left our "
        "warehouse today.\n{% render 'sign-off' %}"
    ),
    html=(
        "<p>Hi {{ first_name | default: 'there' }},</p>"
        "<p>Your order <b>{{ order_id }}</b> left our warehouse today.</p>"
        "<p>{% render 'sign-off' %}</p><p><small>{% render 'footer' %}</small></p>"
    ),
    call_to_action=omnikit.CallToAction(
        label="Track your parcel", url="https://boots.example/orders/{{ order_id }}"
    ),
    data={"screen": "order", "order_id": "{{ order_id }}"},
    overrides={
        "sms": omnikit.ChannelOverride(
            body="Lisbon Boots: order {{ order_id }} shipped – on its way!"
        ),
        "push": omnikit.ChannelOverride(
            subject="Order shipped", body="{{ order_id }} is on its way"
        ),
    },
    templates={
        "whatsapp": TemplateRef(
            name="order_shipped",
            language="en_US",
            parameters=("{{ first_name | default: 'there' }}", "{{ order_id }}"),
        )
    },
)
# --8<-- [end:message]

# --8<-- [start:email]
now = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
ana = {"first_name": "Ana", "order_id": "A-1042"}

email = omnikit.render(shipped, "email", to="ana@example.com", variables=ana, brand=brand, now=now)
print(email.subject)  # Your order A-1042 is on its way
print(email.sender)  # orders@boots.example
print(email.text)
# Hi Ana, your order A-1042 left our warehouse today.
# The Lisbon Boots team
#
# Track your parcel: https://boots.example/orders/A-1042
# --8<-- [end:email]

# --8<-- [start:escaping]
mallory = {"first_name": "<script>steal()</script>", "order_id": "A-1043"}
html = omnikit.render(
    shipped, "email", to="m@example.com", variables=mallory, brand=brand, now=now
).html
print("<script>" in str(html))  # False: &lt;script&gt;steal()&lt;/script&gt;
# --8<-- [end:escaping]

# --8<-- [start:sms]
sms = omnikit.render(shipped, "sms", to="+351912345678", variables=ana, brand=brand, now=now)
print(sms.text)
# Lisbon Boots: order A-1042 shipped - on its way!
# Track your parcel: https://boots.example/orders/A-1042
print(omnikit.sms_segments(sms.text))
# SmsInfo(encoding='GSM-7', segments=1, characters=103, units=103)
print(omnikit.sms_segments("Lisbon Boots: order A-1042 shipped – on its way! 👢"))
# SmsInfo(encoding='UCS-2', segments=1, characters=50, units=51)
# --8<-- [end:sms]

# --8<-- [start:push]
push = omnikit.render(shipped, "push", to="fcm-device-token", variables=ana, brand=brand, now=now)
print(push.subject, "/", push.text)  # Order shipped / A-1042 is on its way
print(dict(push.data))
# {'screen': 'order', 'order_id': 'A-1042',
#  'cta_url': 'https://boots.example/orders/A-1042', 'cta_label': 'Track your parcel'}
# --8<-- [end:push]

# --8<-- [start:whatsapp]
# Ana wrote to us an hour ago: free text is allowed.
chat = omnikit.render(
    shipped,
    "whatsapp",
    to="+351912345678",
    variables=ana,
    brand=brand,
    now=now,
    last_inbound_at=now - dt.timedelta(hours=1),
)
print(chat.template is None)  # True: the body goes as text

# She last wrote three days ago: only the approved template may go.
later = omnikit.render(
    shipped,
    "whatsapp",
    to="+351912345678",
    variables=ana,
    brand=brand,
    now=now,
    last_inbound_at=now - dt.timedelta(days=3),
)
print(later.template)
# TemplateRef(name='order_shipped', language='en_US', parameters=('Ana', 'A-1042'))
# --8<-- [end:whatsapp]

# --8<-- [start:errors]
try:
    omnikit.render(shipped, "sms", to="+351912345678", variables={"first_name": "Ana"}, now=now)
except omnikit.ValidationError as exc:
    print(exc.errors)  # ("overrides.sms.body: 'order_id' is undefined (line 1)",)

too_long = omnikit.Message(body="{{ text }}")
try:
    omnikit.render(
        too_long,
        "sms",
        to="+351912345678",
        variables={"text": "It’s " + "on its way. " * 20},
        brand=omnikit.Brand(max_sms_segments=2),
        now=now,
    )
except omnikit.ValidationError as exc:
    print(exc.errors)
    # ("body: 4 SMS segments (UCS-2, 244 characters); the brand allows at most 2; '’' makes
    #   it UCS-2 (70 characters a segment instead of 160), and Brand(transliterate=True)
    #   would make it GSM-7",)
# --8<-- [end:errors]

# --8<-- [start:files]
converter = omnikit.converters.default_converter()
data = converter.unstructure(shipped)  # JSON-ready: json.dumps(data), yaml.safe_dump(data)
assert omnikit.converters.structure(data, omnikit.Message) == shipped
# --8<-- [end:files]
