"""Talk about the conversation itself, which states no need (pure text patterns, no model).

"Let me talk to a person", "this is the third time I'm asking", "nobody helps", "useless
service", "I'm so angry": a customer says these about the support, not about what they need.
The handoff summary and the packet's need skip a customer sentence that has too little left
once this talk and the pleasantries are removed. The patterns cover the commonest phrasings of
the supported languages (en, es, de, fr) and run on lower-cased text without accents.
"""

from __future__ import annotations

import re
import unicodedata

# The guard lets the engine skip mid-word positions once instead of once per alternative.
_WORD_START = r"(?:^|(?<=\W)(?=\w))"

_PERSON = (
    r"(?:(?:a|an|the|some|your|one of your|a real|a live|an actual|real|actual|live) )?"
    r"(?:real |live |actual |human )?(?:human(?: being)?s?|person|people|agent|someone|somebody|"
    r"anyone|anybody|manager|supervisor|representative|rep|operator|staff|employee|colleague|"
    r"team member|customer service)"
)
_ADVERB = r"(?: (?:please|pls|now|right now|asap|immediately|already|today|again))*"
# "... the worst service ever": what the venting is about, and how bad it is.
_SERVICE_TAIL = (
    r"(?: (?:customer )?(?:service|support|company|experience|help|chat|bot|assistant|team|"
    r"care))?(?: (?:ever|i'?ve ever had|of all time|in the world))*"
)
_NOBODY = r"(?:nobody|no one|noone|no-one|no human|no person|no agent)"
_META_PHRASES = (
    # Asking for a person.
    r"(?:(?:i|we)(?:'d like| (?:just |really )?(?:want|need|would like|wish|demand|insist))|"
    r"(?:can|could|may) (?:i|we)|let (?:me|us)|i'?m asking|i ask) (?:to )?(?:talk|speak|chat|"
    r"be put through|be connected|get through)(?: (?:to|with))? " + _PERSON + _ADVERB,
    r"(?:(?:i|we) (?:just |really )?(?:want|need|demand)|give me|get me|find me|send me|"
    r"put me through to|transfer me to|connect me (?:to|with)|pass me to) " + _PERSON + _ADVERB,
    r"(?:talk|speak|chat) (?:to|with) " + _PERSON + _ADVERB,
    r"(?:human|agent|operator|representative|person|real person)"
    r"(?: (?:please|pls|now|right now|asap|immediately))+",
    r"(?:is )?(?:there )?(?:anyone|anybody|someone|somebody|any human|a human|a person)"
    r"(?: (?:there|here|around|listening|home|reading this|alive|awake|available|at all))+",
    r"(?:are you|is this) (?:a )?(?:bot|robot|machine|real|human|a real person)",
    # Saying it is not the first time.
    r"(?:this is |it'?s |for )?(?:the )?(?:second|third|fourth|fifth|umpteenth|\d+(?:st|nd|rd|th)|"
    r"last) time(?: (?:that )?(?:i'?m|i am|i'?ve|i have|i)(?: been)? (?:asking|writing|"
    r"contacting|messaging|trying|telling|explaining|saying|asked|written|contacted|"
    r"messaged|tried|told|explained|said|reaching out|reached out|chasing|chased)"
    r"(?: (?:you|this|that|it|about this|about it|nicely|today))*)?(?: (?:now|today))?",
    r"(?:i|we)(?:'ve| have)? already (?:asked|told you|said|explained|written|wrote|"
    r"contacted you|messaged|chased)(?: (?:this|that|it|you|so|twice|before|again))*",
    r"(?:i|we)(?:'ve| have)? (?:already |just )?(?:asked|told you|said|explained|written|wrote|"
    r"contacted you|messaged|chased)(?: (?:this|that|it|you|so))*(?: (?:twice|three times|"
    r"several times|many times|multiple times|\w+ times|before|already|again|earlier|"
    r"a million times|over and over))+",
    r"(?:how many|how often)(?: more)? times? (?:do|must|should|will|have) (?:i|we)[^.!?,]*",
    r"(?:again and again|over and over(?: again)?|yet again|once again|asking again|"
    r"i'?m asking again|one more time|i repeat)",
    # Saying nobody helps or answers.
    _NOBODY + r" (?:here )?(?:is |has |will |ever |even |can |wants to |seems to |bothers to )?"
    r"(?:help(?:s|ed|ing)?|answer(?:s|ed|ing)?|repl(?:y|ies|ied|ying)|respond(?:s|ed|ing)?|"
    r"care(?:s|d)?|listen(?:s|ed|ing)?|read(?:s|ing)?|get(?:s|ting)? back|got back|"
    r"bother(?:s|ed)?|do(?:es)? anything)(?: (?:to )?(?:me|us|this|my messages?|anything))*",
    r"why (?:is|does|do|did|will|won'?t|doesn'?t|can'?t|isn'?t) (?:nobody|no one|noone|anyone|"
    r"anybody|someone|somebody|nothing|no human|you)[^.!?]*(?:help|answer|reply|respond|"
    r"listen|care|get back|there|working|happening)\w*",
    r"(?:still )?(?:no|not an?|not a single|not one|zero) (?:answer|reply|response|help|"
    r"feedback|word|update|one helps)(?: (?:yet|at all|so far|from you|from anyone))*",
    r"(?:you|you guys|you people|your (?:bot|ai|chat|assistant|team|support|service|agents?)|"
    r"the (?:bot|ai|chat|assistant)|this (?:bot|ai|chat|assistant)) (?:are|is|aren'?t|isn'?t|"
    r"don'?t|doesn'?t|do not|does not|never|keep|keeps) (?:not |even |so |really |completely |"
    r"totally |absolutely )*(?:helping|help|helpful|listening|listen|answering|answer|"
    r"understand(?:ing)?|useless|pointless|hopeless|a joke|stupid|dumb|rubbish|terrible|"
    r"no help|no use|of no use|repeating yourself)(?: (?:me|us|at all|anything))*",
    r"(?:i'?ve|i have|we'?ve|we have|i'?m|i am|we'?re|we are)? ?(?:been )?(?:still )?waiting"
    r"(?: here)?(?: (?:for|since))? (?:ages|hours|days|weeks|forever|so long|too long|long enough|"
    r"a long time|an? (?:hour|day|week|while)|over an hour|half an hour|all day|"
    r"\d+ (?:minutes?|mins?|hours?|hrs?|days?|weeks?))(?: (?:now|already))*",
    # Venting about the service, or about oneself.
    r"(?:this|that|it|which|what|you|you guys|you people|your (?:service|support|company|team))"
    r"(?:'s|'re| is| are| was| were)? (?:just |so |really |absolutely |totally |completely |"
    r"beyond |simply |honestly |quite |very )*(?:a )?(?:ridiculous|unacceptable|outrageous|"
    r"absurd|insane|crazy|madness|a joke|joke|a disgrace|disgraceful|a shambles|pathetic|"
    r"unbelievable|incredible|shocking|appalling|disgusting|useless|hopeless|pointless|"
    r"terrible|awful|horrible|rubbish|a nightmare|the worst|not ok|not okay|not acceptable|"
    r"not good enough|beyond a joke|frustrating|annoying|infuriating|a waste of (?:my )?time)"
    + _SERVICE_TAIL,
    r"(?:the |your |what a |such a )?(?:worst|terrible|awful|horrible|appalling|abysmal|"
    r"shocking|disgraceful|pathetic|useless|rubbish|poor|bad|lousy) (?:customer )?(?:service|"
    r"support|company|experience|help|chat|bot|assistant|team|care)" + _SERVICE_TAIL,
    r"(?:i'?m|i am|we'?re|we are|i feel|i'?m getting|i am getting|getting)(?: (?:so|very|"
    r"really|extremely|absolutely|totally|completely|beyond|just|fucking|bloody))* (?:angry|"
    r"furious|livid|mad|frustrated|annoyed|upset|disappointed|fed up|sick of (?:this|it|you|"
    r"waiting)|tired of (?:this|it|you|waiting)|done|done with (?:this|you)|losing (?:my )?"
    r"patience|at (?:my|the) wits'? end|beyond frustrated)",
    r"(?:what a (?:joke|mess|shambles|nightmare|waste of time)|are you (?:serious|kidding(?: me)?"
    r"|joking)|seriously|unbelievable|ridiculous|unacceptable|come on|wtf|omg|ffs|jesus|"
    r"for god'?s sake|for crying out loud|ugh+|argh+|hello+|helo+|anyone)",
    # The same in Spanish, German and French.
    r"(?:quiero|quisiera|necesito|puedo) hablar con (?:una persona|un humano|un agente|alguien|"
    r"un operador|una persona real)",
    r"nadie (?:me )?(?:ayuda|responde|contesta|atiende)|(?:es|esto es) (?:ridiculo|inaceptable|"
    r"una verguenza|una broma)|(?:tercera|segunda|cuarta) vez que (?:pregunto|escribo|pido)|"
    r"hay alguien(?: ahi)?",
    r"(?:ich )?(?:mochte|will|moechte|muss) (?:mit )?(?:einem menschen|einer person|einem "
    r"mitarbeiter|jemandem|einem echten menschen) sprechen|niemand (?:hilft|antwortet)"
    r"(?: mir)?|das ist (?:lacherlich|unverschamt|eine frechheit|inakzeptabel|ein witz)|"
    r"zum (?:dritten|zweiten|vierten) mal|ist da jemand",
    r"(?:je veux|je voudrais|je souhaite|puis-je) parler a (?:un humain|une personne|un "
    r"conseiller|quelqu'un|un agent|une vraie personne)|personne ne (?:m'aide|repond|me repond)|"
    r"c'est (?:ridicule|inacceptable|scandaleux|n'importe quoi|une blague)|"
    r"(?:troisieme|deuxieme|quatrieme) fois|il y a quelqu'un",
)
_META = re.compile(_WORD_START + r"(?:" + "|".join(_META_PHRASES) + r")(?!\w)")


def fold(text: str) -> str:
    """Return lower-cased text without accents."""
    text = text.lower()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def strip_meta_talk(text: str) -> str:
    """Return the folded text with every phrase about the conversation itself blanked out."""
    return _META.sub(" ", fold(text))
