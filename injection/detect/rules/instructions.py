"""Instructions addressed to the assistant: "ignore the previous instructions" and its family.

The override phrases are written per language (en, es, fr, de, pt, it, nl, zh, ja, ko, ru): a verb
of dismissal, a few words at most, then what is dismissed. The gaps are bounded so a match is at
most a few hundred characters long.
"""

from collections.abc import Iterator

from injection.detect.result import Finding
from injection.detect.rules.patterns import compile_rule, findings

DETECTOR = "rules.ignore_instructions"

# A few words between the verb and its object: "ignore all of the above instructions".
_GAP = r"(?:[^\s.!?。！？]{1,24}\s+){0,4}?"
_GAP_CJK = r"[^。！？\n]{0,12}?"


def _override(verbs: str, objects: str, *, boundary: str = r"\b") -> str:
    return rf"{boundary}(?:{verbs})\s+{_GAP}(?:{objects}){boundary}"


_OVERRIDES = [
    # English: the nouns below are rarely dismissed in ordinary prose; "rules" or "context" are,
    # so those need a qualifier ("the previous rules").
    _override(
        r"ignore|disregard|forget|override|bypass|neglect",
        r"(?:[a-z]+\s+){0,2}?(?:instructions?|directions|prompts?|guidelines|directives?"
        r"|programming|guardrails)",
    ),
    _override(
        r"ignore|disregard|forget|override|bypass|neglect",
        r"(?:previous|prior|above|earlier|preceding|former|original|initial|system|your|all)"
        r"\s+(?:[a-z]+\s+){0,2}?(?:rules|commands?|context|restrictions|constraints|orders)",
    ),
    r"\b(?:ignore|disregard)\s+(?:everything|anything|all)\s+(?:above|before|previously|else)\b",
    r"\bignore\s+(?:the\s+)?(?:rest|remainder)\s+of\s+(?:this|the)\s+(?:data|document|text|input|page)",
    # Spanish
    _override(
        r"ignora|ignore|ignoren|ignorar|olvida|olvide|olviden|olvidar|descarta|omite|omita|desobedece",
        r"(?:las\s+|tus\s+|sus\s+)?(?:instrucciones|indicaciones|órdenes|reglas|directrices)",
    ),
    # French
    _override(
        r"ignore|ignorez|ignorer|oublie|oubliez|oublier|néglige|négligez",
        r"(?:les\s+|tes\s+|vos\s+)?(?:instructions|consignes|directives|règles|ordres)",
    ),
    # German
    _override(
        r"ignoriere|ignoriert|ignorieren|vergiss|vergesst|vergessen|missachte|missachten",
        r"(?:anweisungen|instruktionen|befehle|regeln|vorgaben|richtlinien|anordnungen)",
    ),
    # Portuguese
    _override(
        r"ignore|ignora|ignorem|ignorar|esqueça|esqueca|esquece|esqueçam|desconsidere|desconsidera",
        r"(?:as\s+|suas\s+|tuas\s+)?(?:instruções|instrucoes|orientações|regras|diretrizes|ordens)",
    ),
    # Italian
    _override(
        r"ignora|ignori|ignorate|ignorare|dimentica|dimentichi|dimenticate|trascura",
        r"(?:le\s+|tue\s+|sue\s+)?(?:istruzioni|indicazioni|regole|direttive|ordini)",
    ),
    # Dutch
    _override(r"negeer|vergeet", r"(?:instructies|aanwijzingen|regels|opdrachten)"),
    # Russian
    _override(
        r"игнорируй|игнорируйте|проигнорируй|проигнорируйте|забудь|забудьте|отбрось|не\s+обращай",
        r"(?:инструкции|инструкциям|указания|указаниям|команды|правила|правилам)",
        boundary="",  # RE2's \b knows ASCII words only
    ),
    # Chinese: (ignore) ... (previous/above) ... (instructions), or the object first.
    rf"(?:忽略|忽视|无视|無視|忘记|忘記|不要理会|不要理會|跳过|跳過|放弃|放棄){_GAP_CJK}"
    rf"(?:之前|以上|上面|上述|先前|前面|此前|原来|原來|所有|全部|系统|系統){_GAP_CJK}"
    r"(?:指令|指示|说明|說明|规则|規則|提示|命令|要求|设定|設定)",
    rf"(?:之前|以上|上面|上述|先前|前面)的{_GAP_CJK}(?:指令|指示|规则|規則|提示|命令)"
    rf"{_GAP_CJK}(?:都)?(?:忽略|无视|無視|作废|作廢)",
    # Japanese: (previous) の (instructions) を (ignore/forget)
    rf"(?:以前|前|上記|上|これまで|今まで|先ほど|全て|すべて)の{_GAP_CJK}"
    rf"(?:指示|命令|指令|ルール|設定|プロンプト){_GAP_CJK}(?:を|は)?{_GAP_CJK}(?:無視|忘れ|破棄)",
    # Korean: (previous) (instructions) 를/을 (ignore)
    rf"(?:이전|앞의|위의|모든|기존){_GAP_CJK}(?:지시|지침|명령|규칙|프롬프트){_GAP_CJK}(?:무시|잊어)",
]

# The assistant given a new identity or task by the text it reads.
_REDIRECTS = [
    r"\b(?:from\s+now\s+on|henceforth|starting\s+now),?\s+(?:you\s+(?:are|will|must|shall|should)"
    r"|act\s+as|respond|answer|reply|only)",
    r"\byou\s+are\s+(?:now|no\s+longer)\s+(?:a|an|the|in|called|named|my|free|dan|unrestricted|"
    r"jailbroken|going|operating)\b",
    r"\b(?:new|updated|real|actual|secret|hidden|override)\s+(?:system\s+)?(?:instructions?|task|prompt"
    r"|directives?|orders)\s*(?::|follow|are|is)",
    r"\byour\s+(?:new|real|true|actual|only)\s+(?:task|goal|instructions?|purpose|objective|job)\s+"
    r"(?:is|are|will\s+be)\b",
    r"\b(?:do\s+anything\s+now|developer\s+mode\s+(?:enabled|output|on)|jailbreak(?:ed)?\s+mode"
    r"|dan\s+mode|no\s+(?:ethical|moral)\s+(?:guidelines|restrictions|constraints))\b",
    r"\b(?:instead|rather),?\s+(?:just\s+|only\s+)?(?:say|print|output|respond\s+with|reply\s+with"
    r"|write|repeat)\s+[\"'“«<]",
    r"\b(?:just|only)\s+(?:say|print|output)\s+[\"'“«]",
    r"\b(?:note|message|instructions?|attention)\s+(?:to|for)\s+(?:the\s+)?(?:ai|assistant|llm|model"
    r"|chatbot|agent|language\s+model|gpt|claude)\b",
    r"\b(?:ai|assistant|llm|agent|chatbot|language\s+model)\s*[,:]\s*(?:you\s+must|please\s+)?"
    r"(?:ignore|disregard|forget|stop|do\s+not\s+(?:tell|inform|mention|reveal))",
    r"\bdo\s+not\s+(?:tell|inform|alert|mention\s+(?:this\s+)?to|notify)\s+the\s+user\b",
    r"\b(?:when|if)\s+(?:you\s+are\s+)?(?:an?\s+)?(?:ai|assistant|llm|language\s+model|agent)\s+"
    r"(?:reading|summari[sz]ing|processing|asked)",
    r"\b(?:reveal|print|output|repeat|show)\s+(?:me\s+)?(?:your|the)\s+(?:full\s+|entire\s+|initial\s+)?"
    r"(?:system\s+prompt|hidden\s+instructions|initial\s+instructions|original\s+prompt)",
    r"\bstop\s+everything\b",
    # Asking for the assistant's own prompt: text a tool returns has no business doing that.
    r"\byour\s+(?:system\s+(?:prompt|message|instructions|configuration)|(?:initial|starting"
    r"|original|hidden|secret)\s+(?:instructions|prompt))\b",
    r"\b(?:instructions|text)\s+you\s+were\s+(?:given|told)|\bwhat\s+were\s+you\s+told\b"
    r"|\brepeat\s+(?:everything|the\s+(?:above\s+)?text|this\s+entire\s+conversation)"
    r"|\boutput\s+the\s+text\s+above|\bmy\s+instructions\s+are:|\bi\s+was\s+instructed\s+to\b",
    r"\b(?:ai|automated|autonomous|llm)\s+(?:agents?|assistants?|models?|systems?)\s+(?:reading|processing"
    r"|parsing|summari[sz]ing)\s+this\b",
    r"\bsupersedes?\s+(?:all\s+)?(?:earlier|previous|prior|other)\s+(?:guidance|instructions|rules|policies)",
    # "note to the assistant" and "do not tell the user", in the other languages
    r"\bnota\s+para\s+(?:el|o)\s+asistente|\bno\s+(?:le\s+)?(?:informes|digas|cuentes)\s+(?:nada\s+)?al\s+usuario",
    r"\bmessage\s+pour\s+l'assistant|\bne\s+(?:dis|dites)\s+rien\s+à\s+l'utilisateur",
    r"\bhinweis\s+an\s+den\s+assistenten|\bsag\s+dem\s+(?:nutzer|benutzer)\s+nichts",
    r"\bnota\s+para\s+o\s+assistente|\bnão\s+(?:conte|diga)\s+(?:nada\s+)?(?:ao|para\s+o)\s+usuário",
    r"\bnota\s+per\s+l'assistente|\bnon\s+dirlo\s+all'utente",
    r"примечание\s+для\s+ассистента|не\s+(?:сообщай|говори)\s+пользователю",
    r"(?:给|給)助手的(?:说明|說明|指示|提示)|不要(?:告诉|告訴)用户|不要(?:告诉|告訴)用戶",
    r"アシスタントへの(?:注意|指示|メモ|お願い)|ユーザーに(?:は)?(?:伝え|知らせ|言わ)ずに",
    r"지금부터\s*(?:너는|당신은)|사용자에게\s*(?:알리지|말하지)\s*(?:말고|마)",
    # es / fr / de / pt / it / ru / zh / ja: "from now on you are", "new instructions:"
    r"\b(?:a\s+partir\s+de\s+ahora|desde\s+ahora),?\s+(?:eres|serás|vas\s+a|debes|responde)",
    r"\bnuevas\s+instrucciones\s*:",
    r"(?:à\s+partir\s+de\s+maintenant|désormais|dorénavant),?\s+(?:tu\s+es|tu\s+dois|vous\s+êtes|vous\s+devez"
    r"|réponds|répondez)",
    r"\bnouvelles\s+instructions\s*:",
    r"\b(?:ab\s+(?:jetzt|sofort)|von\s+nun\s+an),?\s+(?:bist\s+du|sind\s+sie|musst\s+du|müssen\s+sie|antworte)",
    r"\bneue\s+anweisungen\s*:",
    r"\b(?:a\s+partir\s+de\s+agora|de\s+agora\s+em\s+diante),?\s+(?:você\s+é|voce\s+e|tu\s+és|você\s+deve"
    r"|responda)",
    r"\bnovas\s+instruções\s*:",
    r"\b(?:d'ora\s+in\s+poi|da\s+ora\s+in\s+poi|da\s+adesso),?\s+(?:sei|devi|rispondi)",
    r"\bnuove\s+istruzioni\s*:",
    r"(?:с\s+этого\s+момента|отныне|теперь)\s+ты\s+(?:—\s+|-\s+)?(?:должен|будешь|являешься|не)",
    r"новые\s+инструкции\s*:",
    r"(?:从现在开始|從現在開始|现在起|現在起)[,，]?\s*你(?:是|将|將|必须|必須|只|要)",
    r"(?:新的指令|新指令|新的指示)\s*[:：]",
    r"(?:今から|これから|今後)[、,]?\s*(?:あなたは|君は)",
    r"新しい指示\s*[:：]",
]

# One alternation per score: one pass over the text each, however many languages.
_PATTERNS = [
    (compile_rule("|".join(f"(?:{pattern})" for pattern in _OVERRIDES)), 0.95),
    (compile_rule("|".join(f"(?:{pattern})" for pattern in _REDIRECTS)), 0.85),
]


def find(text: str) -> Iterator[Finding]:
    return findings(_PATTERNS, text, DETECTOR)
