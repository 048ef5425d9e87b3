"""A small, realistic help center for the "teach the AI in the browser" journey.

A home-goods store: a handful of short articles on different topics, three intents with
approved answers and enough example phrasings to train quickly, and the article the admin
writes in the browser (gift wrapping), with a question that paraphrases it.
"""

from __future__ import annotations

STORE = "harbor-goods"

ARTICLES: dict[str, str] = {
    "Returns and exchanges": (
        "You can return any unused item within 30 days of delivery.\n\n"
        "Start a return from the Orders page and print the prepaid label. "
        "Refunds reach your original payment method within 5 business days of us receiving "
        "the parcel. Exchanges for another colour or size are free."
    ),
    "Delivery times and costs": (
        "Standard delivery takes 3 to 5 business days and is free on orders over 60 dollars.\n\n"
        "Express delivery arrives the next business day when you order before 1 pm. "
        "Furniture ships by freight and takes up to two weeks."
    ),
    "Payment methods": (
        "We accept Visa, Mastercard, American Express, PayPal and Apple Pay.\n\n"
        "Your card is charged only when the order ships. "
        "Orders over 200 dollars can be paid in four instalments."
    ),
    "Caring for wooden furniture": (
        "Dust wooden furniture weekly with a soft, dry cloth.\n\n"
        "Wipe spills at once and never use a wet sponge or harsh cleaners. "
        "Oil untreated oak twice a year with the care kit we sell, and keep pieces away from "
        "radiators and direct sunlight."
    ),
    "Store locations and opening hours": (
        "Our two showrooms are in Portland and Seattle.\n\n"
        "They are open Monday to Saturday from 10 am to 7 pm and closed on Sundays. "
        "Both have free customer parking for two hours."
    ),
    "Gift cards": (
        "Gift cards come in amounts from 25 to 500 dollars and never expire.\n\n"
        "We email the card with your message, or you can print it at home. "
        "Enter the code at checkout to redeem it; gift cards cannot be exchanged for cash."
    ),
}

# Four intents with approved answers and enough phrasings for the precision target to be
# provable on cross-validation (a few dozen examples: training stays a matter of seconds).
EXAMPLES: dict[str, list[str]] = {
    "track_order": [
        "where is my order",
        "has my package shipped yet",
        "I want to track my parcel",
        "when will my order arrive",
        "my delivery is late",
        "what is the status of my order",
        "can I get a tracking number",
        "my order still hasn't arrived",
        "how do I track my delivery",
        "the tracking link shows no update",
        "is my order out for delivery",
        "when does my package get here",
        "I ordered a week ago and nothing came",
        "which carrier is delivering my order",
        "my parcel says delivered but I don't have it",
        "has my order been dispatched",
        "the courier hasn't come yet",
        "how many days until my package arrives",
    ],
    "reset_password": [
        "I forgot my password",
        "please reset my password",
        "I can't log in to my account",
        "the password reset link does not work",
        "how do I change my password",
        "I am locked out of my account",
        "the reset email never arrived",
        "my password is not accepted",
        "how can I recover my account",
        "I keep getting wrong password",
        "can you send me a new password link",
        "sign in fails with my usual password",
        "I need to set a new password",
        "my login stopped working",
        "it says my account is locked",
        "I can't remember my login details",
        "the site says my password is wrong",
        "how do I unlock my account",
    ],
    "opening_hours": [
        "when are you open",
        "what are your opening hours",
        "are you open on sunday",
        "what time do you close today",
        "what are the store hours",
        "are you open on public holidays",
        "what time does the showroom open",
        "is the Portland store open on saturday",
        "until when is the Seattle showroom open",
        "are you open tomorrow morning",
        "what are your hours this weekend",
        "can I visit the showroom in the evening",
        "do you open on bank holidays",
        "when does the store close on saturdays",
        "is the showroom open right now",
        "what are your hours on friday",
        "is the Seattle store open late",
        "when can I come to the showroom",
    ],
    "return_item": [
        "I want to return an item",
        "how do I send something back",
        "can I get a refund",
        "I need a return label",
        "how long do I have to return my order",
        "the chair I bought doesn't fit, can I return it",
        "where is my refund",
        "can I exchange this for another colour",
        "I'd like to return my lamp",
        "how do returns work",
        "when will I get my money back",
        "can I return a sale item",
        "I received the wrong item and want to send it back",
        "do I pay for return shipping",
        "I changed my mind about my order",
        "how do I get a refund for a broken vase",
        "can I swap this rug for a bigger size",
        "I want to send back my sofa cushions",
    ],
}

ANSWERS: dict[str, tuple[str, str]] = {
    "track_order": (
        "Tracking your order",
        "You get a tracking link by email as soon as your parcel leaves our warehouse.",
    ),
    "reset_password": (
        "Resetting your password",
        "Click “Forgot password” on the sign-in page and we email you a reset link.",
    ),
    "opening_hours": (
        "Opening hours",
        "Our showrooms are open Monday to Saturday, 10 am to 7 pm.",
    ),
    "return_item": (
        "Returns and exchanges",
        "You can return unused items within 30 days; start from the Orders page.",
    ),
}

# What the admin writes in the browser.
GIFT_TITLE = "Gift wrapping"
GIFT_BODY = (
    "## Wrapping your order as a gift\n\n"
    "We can **gift wrap** any item for 5 dollars. Tick *Gift wrap this order* at checkout "
    "and we pack each item in recycled paper with a ribbon.\n\n"
    "- Add a handwritten card with your own message, free of charge.\n"
    "- Gift-wrapped parcels never include a receipt or the prices.\n\n"
    "Gift wrapping is not available for furniture shipped by freight.\n\n"
    "<script>window.__kb_xss = 1</script>"
)
# Paraphrases the article (not its title) the way a customer would.
GIFT_QUESTION = "Is it possible to have my purchase wrapped as a present?"
OFF_TOPIC = "what's the capital of Australia?"

# An example the admin adds in the browser, and one that was filed under the wrong intent.
NEW_EXAMPLE = ("track_order", "is my parcel on its way")
MISFILED = ("opening_hours", "track_order", "can you tell me where my shipment is")
