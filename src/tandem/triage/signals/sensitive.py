"""Detect sensitive topics a workspace may reserve for humans (legal threats, hardship...)."""

from __future__ import annotations

import re
from collections.abc import Collection
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

LEGAL_THREAT = "legal_threat"
CANCELLATION = "cancellation"
REFUND_DISPUTE = "refund_dispute"
COMPLAINT = "complaint"
VULNERABLE_CUSTOMER = "vulnerable_customer"
SECURITY_INCIDENT = "security_incident"
ALL_TOPICS: frozenset[str] = frozenset(
    {LEGAL_THREAT, CANCELLATION, REFUND_DISPUTE, COMPLAINT, VULNERABLE_CUSTOMER, SECURITY_INCIDENT}
)

FIRE_THRESHOLD = 0.5  # topics scoring below this are left out of the result
PATTERN_SCORE = 0.9
SELF_HARM_SCORE = 1.0  # never outranked: a person at risk comes before any queue rule
# Similarity (top-2 mean over a topic's exemplars) mapped onto 0..1 between these; the
# embedding alone reaches FIRE_THRESHOLD at SIM_LOW + (SIM_HIGH - SIM_LOW) / 2 = 0.70.
SIM_LOW, SIM_HIGH = 0.60, 0.80
# The embedding only counts when the topic is this much closer than the near-miss exemplars.
SIM_MARGIN = 0.05

_PATTERNS: dict[str, list[str]] = {
    LEGAL_THREAT: [
        r"\b(i'll|i will|i'm going to|im going to|gonna|going to|will) (sue|take legal)",
        r"\bsue (you|your|the company|them)\b|\b(lawsuit|class action|small claims)\b",
        r"\b(my|a|our) (lawyer|attorney|solicitor|legal (team|counsel|representative))s?\b"
        r"[^.]{0,40}\b(contact|touch|letter|hear|call|involve|speak|talk|consult|hire|get)",
        r"\b(hear|letter) from (my|our) (lawyer|attorney|solicitor)s?\b",
        r"\b(contact|call|hire|get|speak to|consult|involve|instruct)(ing)? (a|my|our) "
        r"(lawyer|attorney|solicitor)",
        r"\blegal (action|proceedings|steps|recourse)\b|\b(take|taking|see) (you|this|it) "
        r"(to|in) court\b|\bsee you in court\b|\bpursue (this|it) legally\b",
        r"\breport(ing)? (you|this|your company) to (the )?(bbb|ftc|better business bureau|"
        r"trading standards|ombudsman|regulator|attorney general|consumer protection)",
        r"\b(demandar(los|les|te)?|demandare|voy a denunciar|acciones legales|mi abogado)\b",
        r"\b(verklagen|verklage|rechtliche schritte|mein anwalt|meinen anwalt|klage einreichen)\b",
        r"\b(poursuivre en justice|porter plainte|mon avocat|action en justice|mise en demeure)\b",
        r"\b(mio avvocato|fare causa|vie legali|azione legale|denunciarvi)\b",
        r"\b(processar voces|vou processar|meu advogado|acao judicial|procon)\b",
        r"\b(mijn advocaat|juridische stappen|rechtszaak|naar de rechter|aanklagen)\b",
    ],
    CANCELLATION: [
        r"\bstop (my |the |our )?(subscription|membership|plan|renewal|auto-?renewal|contract)",
        r"\b(cancel(l?ing)?|terminat(e|ing)|clos(e|ing)|delet(e|ing)|remov(e|ing)|end(ing)?|"
        r"discontinu(e|ing)|deactivat(e|ing)|quit(ting)?)( (?!from|in|on)\w+){0,2} "
        r"(order|subscription|account|membership|plan|contract|booking|reservation|purchase|"
        r"renewal|trial|service)s?\b",
        r"\b(order|subscription|account|membership|contract|booking|purchase) (cancellation|"
        r"termination|removal|deletion|closure)s?\b",
        r"\b(how (do|can|could) i|i want to|i'd like to|i would like to|i need to|please|"
        r"want to|wanna|help me) (cancel|unsubscribe)\b|\bunsubscribe me\b",
        r"\b(cancelar|anular|dar de baja|darme de baja)\b",
        r"\b(kundigen|kundige|stornieren|storniere|abbestellen)\b|\bkonto (loschen|schliessen)",
        r"\b(annuler|resilier|me desabonner|fermer mon compte|supprimer mon compte)\b",
        r"\b(annullare|disdire|disdetta|chiudere il (mio )?(conto|account))\b",
        r"\b(cancelar|encerrar (minha|a) conta|rescindir)\b",
        r"\b(opzeggen|annuleren|stopzetten|account verwijderen|opheffen)\b",
    ],
    REFUND_DISPUTE: [
        r"\b(charged|billed|debited) (me )?(twice|double|two times|incorrectly|wrongly)\b",
        r"\b(double|over)[- ]?(charged|billed)\b|\bchargeback\b|\bdisput(e|ing) (the|this|a|my) "
        r"(charge|payment|transaction)\b|\bdisputing\b",
        r"\b(refuse[sd]?|refusing|won't|will not|wont|denied|denying|rejected|declined|never)"
        r"\b[^.]{0,30}\b(refund|money back|reimburse)",
        r"\b(refund|reimbursement)s? (was |has been |were )?(refused|denied|rejected|declined)\b",
        r"\bstill\b[^.]{0,40}\b(no|not|haven't|hasn't|never)\b[^.]{0,30}\b(refund|money back|"
        r"reimburs)|\b(still )?no refund\b",
        r"\b(wrong|incorrect|partial) (refund|amount)\b|\bonly refunded\b|\bunauthori[sz]ed "
        r"(charge|payment|debit)",
        r"\b(promised|owe me) (me )?(a )?refund\b",
        r"\bno me (devuelven|reembolsan|han devuelto|quieren (devolver|reembolsar))\b|"
        r"\b(cobraron|cobrado) (dos veces|de mas)\b|\bcobro (doble|duplicado)\b",
        r"\bdoppelt (abgebucht|berechnet)\b|\b(keine|immer noch keine) (ruck)?erstattung\b|"
        r"\b(ruck)?erstattung (verweigert|abgelehnt)\b",
        r"\brefusez de me rembourser\b|\btoujours pas (ete )?rembourse|\b(debite|preleve) deux "
        r"fois\b|\bdouble prelevement\b",
        r"\baddebitato due volte\b|\bdoppio addebito\b|\brimborso (negato|rifiutato)\b|"
        r"\bancora nessun rimborso\b",
        r"\bcobrado duas vezes\b|\bcobranca duplicada\b|\bnao recebi (o|meu) reembolso\b",
        r"\bdubbel (afgeschreven|betaald|gefactureerd)\b|\bterugbetaling geweigerd\b|"
        r"\bnog steeds geen terugbetaling\b",
    ],
    COMPLAINT: [
        r"\b(fil|mak|lodg|submitt?|rais|register|open)(e|es|ed|ing)? (a |an )?(formal |official |"
        r"consumer |customer |written )?(complaint|grievance|reclamation)\b",
        r"\b(complaint|claim|reclamation) against (your|the|ur|this) (company|business|"
        r"organi[sz]ation|firm|store|shop)\b|\b(consumer|customer|formal|official) "
        r"(complaint|claim|reclamation)\b",
        r"\bi (want|would like|wish|need|'d like) to complain\b|\bcomplain(ing)? about\b",
        r"\b(was|were|been|is|are) (so |very |extremely |really )?(rude|disrespectful|"
        r"unprofessional|aggressive|abusive)\b|\bhung up on me\b",
        r"\bworst (service|experience|company|customer (service|experience)|support)\b",
        r"\b(terrible|awful|horrible|appalling|disgraceful|shocking|abysmal|pathetic) "
        r"(customer )?(service|experience|support|treatment)\b",
        r"\b(very|extremely|really|totally|deeply) (unhappy|dissatisfied|disappointed) with\b",
        r"\b(queja|quejarme|reclamacion|poner un reclamo)\b",
        r"\b(beschwerde|beschweren)\b",
        r"\b(reclamation|me plaindre|deposer une plainte)\b",
        r"\b(reclamo|lamentela|reclamare|lamentarmi)\b",
        r"\b(reclamacao|queixa|reclamar)\b",
        r"\b(klacht|klagen)\b",
    ],
    VULNERABLE_CUSTOMER: [
        r"\bmy (husband|wife|mother|father|mum|mom|dad|son|daughter|partner|child|brother|"
        r"sister|grandmother|grandfather|grandma|grandpa|spouse|parent|uncle|aunt)\b( \w+){0,2} "
        r"(passed away|died|has died|is dead|passed)\b",
        r"\b(passed away|deceased|bereavement|bereaved|funeral|widowed)\b",
        r"\b(cancer|chemo(therapy)?|terminal(ly)? ill|seriously ill|in (the )?hospital|"
        r"hospitali[sz]ed|dementia|mental health)\b",
        # "Disabled" alone is more often an account than a person.
        r"\b(i have|i've got|with) (a )?disabilit(y|ies)\b|\bmy disabilit(y|ies)\b|"
        r"\b(i am|i'm|im|am) disabled\b|\bdisabled (person|customer|son|daughter|child|husband|"
        r"wife|mother|father|partner)\b",
        r"\b(i am|i'm|i've been|im) (very |seriously |really )?(ill|sick)\b(?! of| and tired)",
        r"\b(lost my job|unemployed|laid off|made redundant|(can't|cannot|can not) afford "
        r"(to pay|the payments|my|rent|food|anything|it anymore)|"
        r"financial (hardship|difficult\w*)|struggling (financially|to pay)|behind on (my )?"
        r"(payments|rent|bills)|food bank)\b",
        r"\b(fallecio|fallecido|fallecida|perdi mi trabajo|desempleado|desempleada|no puedo "
        r"permitirme)\b",
        r"\b(verstorben|gestorben|schwer krank|krankenhaus|arbeitslos|job verloren)\b",
        r"\b(decede|decedee|gravement malade|hopital|au chomage|perdu mon emploi)\b",
        r"\b(deceduto|deceduta|scomparso|ospedale|disoccupato|perso il lavoro)\b",
        r"\b(faleceu|falecido|falecida|desempregado|desempregada|perdi o emprego)\b",
        r"\b(overleden|ziekenhuis|werkloos|baan kwijt|ernstig ziek)\b",
    ],
    SECURITY_INCIDENT: [
        r"\b(hacked|hijacked|compromised|breached|phishing|identity theft)\b",
        r"\bfraudulent (charges?|transactions?|payments?|purchases?|activity|logins?|orders?|use)\b"
        r"|\b(charged|used|accessed) fraudulently\b",
        r"\b(someone|somebody|a stranger|an unknown person|hackers?) (has |have )?(logged|signed|"
        r"accessed|got into|broke into|is using|used|changed|stole|hacked)",
        r"\b(didn't|did not|never|don't) (make|made|authori[sz]e|order|place|recogni[sz]e)\b"
        r"[^.]{0,30}\b(transactions?|purchases?|orders?|payments?|charges?|logins?)",
        r"\b(transactions?|purchases?|payments?|charges?|logins?|sign[- ]ins?)\b[^.]{0,30}\b"
        r"(i )?(didn't|did not|never|don't) (make|made|recogni[sz]e|authori[sz]e|place)",
        r"\bunauthori[sz]ed\b|\bwithout my (permission|consent|knowledge)\b|\bstolen "
        r"(card|identity|account|password)\b|\bstole my (card|identity|password)\b",
        r"\b(hackea\w*|jaquea\w*|fraude|suplantacion|no reconozco)\b",
        r"\b(gehackt|betrug|nicht autorisiert|unbefugt|gestohlen)\b",
        r"\b(pirate|piratage|usurpation|non autorise|je ne reconnais pas)\b",
        r"\b(hackerato|violato|frode|rubato|non autorizzat\w)\b",
        r"\b(hackeada|hackeado|invadida|invadido|golpe|roubado|nao autorizad\w|nao reconheco)\b",
        r"\b(gehackt|gestolen|niet geautoriseerd|niet herken\w*)\b",
    ],
}
_COMPILED: dict[str, re.Pattern[str]] = {t: compile_any(p) for t, p in _PATTERNS.items()}
_SELF_HARM = compile_any(
    [
        r"\b(kill myself|end (it all|my life)|suicid\w*|self[- ]harm|hurt(ing)? myself|"
        r"want to die|no reason to live|better off dead|ending it all|don't want to "
        r"(live|be alive|be here) anymore|don't want to live)\b",
        r"\b(quitarme la vida|no quiero vivir|mich umbringen|nicht mehr leben|me tuer|"
        r"plus envie de vivre|togliermi la vita|me matar|zelfmoord)\b",
    ]
)
# A question about the rules is not the event itself ("what's your refund policy").
_POLICY_QUESTION = compile_any(
    [
        r"\b(policy|policies|terms|conditions|fees?|how long (do|does|will)|usually take|"
        r"am i (eligible|entitled)|can i get|is it possible to get|politica|richtlinie|"
        r"politique|delai)\b"
    ]
)
_POLICY_CAPPED = frozenset({CANCELLATION, REFUND_DISPUTE})
# Leaving a mailing list is not churn.
_NOT_CANCELLATION = compile_any([r"\b(newsle\w*|mailing list|marketing e-?mails?|promotional)\b"])
# A legal threat names the law, a lawyer, a court or an authority. Anger alone ("third time
# I'm asking, nobody helps!!!") sits close to threats in embedding space but is not one, so
# similarity counts for this topic only when the message uses such words.
_LEGAL_LANGUAGE = compile_any(
    [
        r"\b(law|laws|legal\w*|illegal\w*|lawyers?|attorneys?|solicitors?|counsel|barrister|"
        r"courts?|sue|suing|sued|lawsuit|litigat\w*|tribunal|judge|claims? court|rights|"
        r"liabl\w*|liability|compensation|damages|notice|ombudsman|regulator\w*|authorit\w*|"
        r"trading standards|consumer (protection|agency|centre|center|rights|law)|bbb|ftc|"
        r"better business bureau|attorney general|data protection|gdpr|police|report (you|this))\b",
        r"\b(abogad\w*|demandar\w*|demanda|tribunal\w*|juicio|denunci\w*|ley|derechos|"
        r"anwalt|anwaltin|gericht\w*|klage\w*|verklag\w*|rechtlich\w*|gesetz\w*|"
        r"avocat\w*|justice|plainte|juridique\w*|loi|droits|mise en demeure|"
        r"avvocat\w*|fare causa|legali|tribunale|advogad\w*|processar|judicial|procon|"
        r"advocaat|rechter|rechtszaak|juridisch\w*|aanklagen)\b",
    ]
)


@cache
def _bank() -> ExemplarBank:
    groups = load_exemplars()["sensitive"]
    return ExemplarBank({topic: groups[topic] for topic in [*sorted(ALL_TOPICS), "negative"]})


def _check_topics(enabled: Collection[str]) -> frozenset[str]:
    if isinstance(enabled, str):
        raise TypeError("enabled must be a collection of topic names, not a string")
    topics = frozenset(enabled)
    unknown = topics - ALL_TOPICS
    if unknown:
        raise ValueError(f"unknown sensitive topic(s): {sorted(unknown)}")
    return topics


def pattern_scores(text: str, enabled: Collection[str] = ALL_TOPICS) -> dict[str, float]:
    """Return the topics whose multilingual phrases match (no embedding needed)."""
    topics = _check_topics(enabled)
    folded = fold_message(text)
    scores: dict[str, float] = {}
    for topic in topics:
        if first_unnegated(_COMPILED[topic], folded):
            scores[topic] = PATTERN_SCORE
    if VULNERABLE_CUSTOMER in topics and _SELF_HARM.search(folded):
        scores[VULNERABLE_CUSTOMER] = SELF_HARM_SCORE
    return scores


def embedding_scores(vector: np.ndarray, enabled: Collection[str] = ALL_TOPICS) -> dict[str, float]:
    """Return 0..1 per enabled topic from exemplar similarity versus near misses."""
    sims = _bank().similarities(vector)
    background = sims["negative"]
    result: dict[str, float] = {}
    for topic in _check_topics(enabled):
        if sims[topic] >= background + SIM_MARGIN:
            result[topic] = ramp(sims[topic], SIM_LOW, SIM_HIGH)
    return result


def detect_sensitive_topics(
    text: str, vector: np.ndarray | None = None, enabled: Collection[str] = ALL_TOPICS
) -> dict[str, float]:
    """Return {topic: score} for the enabled sensitive topics that fire (score >= 0.5)."""
    topics = _check_topics(enabled)
    if not topics or not any(ch.isalpha() for ch in text):
        return {}
    patterned = pattern_scores(text, topics)
    scores = dict(patterned)
    for topic, score in embedding_scores(ensure_vector(text, vector), topics).items():
        scores[topic] = max(scores.get(topic, 0.0), score)
    folded = fold_message(text)
    if CANCELLATION in scores and _NOT_CANCELLATION.search(folded):
        del scores[CANCELLATION]
    if LEGAL_THREAT in scores.keys() - patterned.keys() and not _LEGAL_LANGUAGE.search(folded):
        scores[LEGAL_THREAT] = min(scores[LEGAL_THREAT], FIRE_THRESHOLD - 0.1)
    if _POLICY_QUESTION.search(folded):
        # Explicit phrases survive ("cancel my plan, is there a fee?"); similarity does not.
        for topic in (_POLICY_CAPPED & scores.keys()) - patterned.keys():
            scores[topic] = min(scores[topic], FIRE_THRESHOLD - 0.1)
    return {t: round(s, 4) for t, s in sorted(scores.items()) if s >= FIRE_THRESHOLD}
