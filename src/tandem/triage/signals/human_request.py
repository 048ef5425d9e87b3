"""Detect an explicit request for a human agent, in several languages."""

from __future__ import annotations

from functools import cache

import numpy as np

from tandem.triage.signals._common import (
    ExemplarBank,
    compile_any,
    ensure_vector,
    first_unnegated,
    fold_message,
    load_exemplars,
    ramp,
)

FIRE_THRESHOLD = 0.5  # the score from which the request should be treated as made
STRONG_SCORE = 0.95  # an unambiguous phrase ("talk to a human", "hablar con un agente")
WEAK_SCORE = 0.6  # a hint that usually means it ("are you a bot?", "escalate this")
# Embedding similarity (top-2 mean over positive exemplars) mapped onto 0..1 between these.
SIM_LOW, SIM_HIGH = 0.55, 0.80
# The embedding only counts when closer to the positives than to the near-miss exemplars.
SIM_MARGIN = 0.05

_WHO = (
    r"(a |an |the |some |your |one of your |a member of |someone from )?"
    r"(real |live |actual |human |proper |physical |flesh and blood )?"
    r"(human( being)?|person|people|agent|representative|rep|operator|someone|somebody|"
    r"anyone|anybody|staff( member)?|employee|supervisor|manager|advisor|adviser|consultant|"
    r"team member|assistant|(customer )?(service|support|care) (agent|rep|representative|person|"
    r"team|staff)|"
    r"(support|service) team|your team|your staff)\b"
)
_STRONG = compile_any(
    [
        rf"\b(talk(ing)?|speak(ing)?|chat(ting)?|communicat(e|ing)) ?(to|with) {_WHO}",
        r"\b(contact|reach|get in touch with|get hold of|call)(ing)? ((a|an|the|some|your|one of "
        r"your) (real |live |actual |human )?(human|person|agent|representative|rep|operator|"
        r"assistant|supervisor|manager|staff member|employee)|someone|somebody|anyone|anybody)\b",
        rf"\b(connect|transfer|put|pass|hand|switch|escalate|forward|redirect|route)"
        rf"( me| this| it| my (case|issue|ticket|chat))?( over| through| on)? (to|with) {_WHO}",
        r"\b(get|give|find|send|need|want|request|prefer|rather have) (me )?(a |an |some )?"
        r"(real |live |actual |human )?(human|person|representative|operator|real agent|"
        r"live agent|human agent)\b",
        r"\b(real|live|actual|human) (human|person|agent|people|being)\b",
        r"\b(human|person|agent|representative|operator|rep)\W{0,3}(please|pls|plz|now|asap)\b",
        r"^\W*(a |an )?(human|agent|representative|operator|real person|live agent|person|rep|"
        r"supervisor|manager|customer service|live chat|someone real)\W*$",
        r"\b(no more|stop (the|this)|enough (of )?(the|this)|no) (bots?|robots?|chatbots?|"
        r"machines?|automated (answers?|replies|assistant))\b",
        r"\b(can|could|will|would) (someone|somebody|a person|an agent|a human|a real person|"
        r"a representative|one of your (staff|team|agents)) (please )?(call|ring|phone|contact|"
        r"get back to) me\b",
        r"\b(is|are) there (a |an |any )?(human|person|people|agent|anyone|somebody|someone)\b"
        r"[^.?!]{0,40}\b(real|human|talk|speak|chat|available|alive)\b",
        # es
        r"\b(hablar|charlar|chatear|comunicarme|contactar|pasame|pasarme|pasenme|paseme|"
        r"transfiereme|transferirme|comuniqueme|comunicame|conectame|conectarme|ponerme)"
        r"( con| a| en contacto con)? (un |una |algun |alguna )?(persona|humano|agente|asesor|"
        r"asesora|operador|operadora|representante|alguien|ejecutivo|supervisor|empleado)",
        r"\b(persona|agente|asesor|asesora|operador) (real|humano|humana|de verdad)\b",
        r"\batencion (humana|personalizada)\b|\bquiero (un|una) (humano|persona|agente|asesor)\b",
        # de (folded: ö -> o, ß -> ss)
        r"\b(mit|an) (einem |einer |einen |jemandem|dem |der )?(echten |richtigen |menschlichen )?"
        r"(menschen|mensch|mitarbeiter(in)?|person|berater(in)?|kundenberater(in)?|"
        r"kundendienst\w*|servicemitarbeiter\w*|supportmitarbeiter\w*|agenten|vorgesetzten|"
        r"jemandem|jemand)( \w+){0,3} (sprechen|reden|chatten|verbinden|verbunden|weiterleiten|"
        r"telefonieren)\b",
        r"\b(echte[nrs]?|richtige[nrs]?) (mensch|menschen|person|mitarbeiter|berater)\b",
        r"\bverbinden sie mich\b|\b(mitarbeiter|mensch|berater)\W{0,3}(bitte|jetzt|sofort)\b",
        r"\bich (will|mochte|brauche|hatte gern) (einen |eine )?(menschen|mitarbeiter|berater)\b",
        # fr (folded: à -> a, é -> e)
        r"\b(parler|discuter|echanger|m'adresser|etre mis en relation|mettez[- ]moi en relation|"
        r"passez[- ]moi|me passer|transferez[- ]moi|joindre|contacter)( a| avec)? "
        r"(un |une |un vrai |une vraie )?(vrai |vraie |veritable )?(conseiller|conseillere|humain|"
        r"personne|agent|operateur|operatrice|quelqu'un|responsable|interlocuteur|employe)",
        r"\b(vrai|vraie|veritable) (humain|personne|conseiller|agent)\b|\bun humain\b",
        # it
        r"\b(parlare|chattare|parlo|passi|passami|mettermi in contatto|mi metta in contatto|"
        r"mi passa|collegarmi|trasferirmi)( con| a)? (un |una |un vero |una vera )?(operatore|"
        r"operatrice|persona|umano|essere umano|agente|consulente|addetto|responsabile|qualcuno)",
        r"\b(persona|operatore|operatrice) (reale|vera|vero|umano|umana)\b",
        # pt
        r"\b(falar|conversar|fale|passe|passa|transfira|transferir|me transfere|me passa)"
        r"( com| para)? (um |uma |algum |alguma )?(atendente|pessoa|humano|agente|operador|"
        r"operadora|consultor|consultora|alguem|representante|funcionario)",
        r"\batendimento humano\b|\bpessoa (real|de verdade)\b",
        # nl
        r"\b(met|naar) (een |de |iemand)?(echte |echt )?(mens|medewerker|medewerkster|persoon|"
        r"iemand|agent|klantenservice)\b( \w+){0,3} (spreken|praten|chatten|bellen|"
        r"doorverbinden|doorverbonden)\b",
        r"\b(spreken|praten|chatten) met (een )?(echte |echt )?(mens|medewerker|persoon|iemand)",
        r"\b(verbind|verbindt) (me|mij) (door )?(met|naar)\b|\b(echte|echt) (mens|persoon)\b",
        r"\biemand (van (de )?klantenservice )?(spreken|praten)\b|\bmedewerker (aub|graag)\b",
    ]
)
_WEAK = compile_any(
    [
        r"\b(are you|is this|is it|am i (talking|chatting|speaking) (to|with)) (a |an )?"
        r"(bot|robot|machine|ai|real person|human|person)\b",
        r"\bescalate\b|\b(please|pls|can you|could you|can someone|could someone) call me\b",
        r"\beres un (bot|robot)\b|\bbist du ein (bot|roboter)\b|\betes[- ]vous un robot\b",
    ]
)
# Near misses whose words look like a request but are about something else.
_BLOCK = compile_any(
    [
        r"\bhuman[- ]?(resources?|readable|error)\b|\bcontact person\b",
        r"\b(agent|person|rep|operator)[- ]?(number|id|code|portal|app|login|avatar|account|name)",
        r"\b(add|invite|remove|another|additional|extra) (a |an |another )?(person|user|agent|"
        r"member|people)\b",
        r"\b(travel|sales|estate|insurance|booking|shipping|customs|secret|user|delivery) agent",
        r"\bbecome (a |an )?(agent|rep|representative|reseller)\b",
    ]
)


@cache
def _bank() -> ExemplarBank:
    groups = load_exemplars()["human_request"]
    return ExemplarBank({"positive": groups["positive"], "negative": groups["negative"]})


def _pattern_score(folded: str) -> float:
    if first_unnegated(_STRONG, folded):
        return STRONG_SCORE
    if first_unnegated(_WEAK, folded):
        return WEAK_SCORE
    return 0.0


def embedding_score(vector: np.ndarray) -> float:
    """Return 0..1 from similarity to human-request exemplars versus near misses."""
    sims = _bank().similarities(vector)
    if sims["positive"] < sims["negative"] + SIM_MARGIN:
        return 0.0
    return ramp(sims["positive"], SIM_LOW, SIM_HIGH)


def detect_human_request(text: str, vector: np.ndarray | None = None) -> float:
    """Return 0..1: how clearly the customer asks to talk to a human."""
    folded = fold_message(text)
    if not any(ch.isalpha() for ch in folded):
        return 0.0
    pattern = _pattern_score(folded)
    blocked = bool(_BLOCK.search(folded))
    if pattern >= STRONG_SCORE and not blocked:
        return pattern  # explicit phrase: no need to pay for the similarity
    similarity = embedding_score(ensure_vector(text, vector))
    score = max(pattern, similarity)
    # A near-miss phrase ("agent number") caps the score unless a strong phrase also matched.
    if blocked:
        score = min(score, pattern if pattern >= STRONG_SCORE else 0.3)
    return round(score, 4)
