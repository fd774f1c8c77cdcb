"""Indirect injections: instructions planted in content for the model that will read it.

They do not dismiss the previous instructions; they read like part of a document, an e-mail or a
page, and tell whoever summarises, translates or answers questions about it what to say, what
link to include, or what to keep quiet about. The signs are the addressee (an AI, an assistant,
"whoever summarises this") and an instruction about the reader's own output. A person asked to
review a document is told to "add comments" or "reply by Friday", not what their summary must
state. English, Spanish, French, German, Portuguese and Italian; every gap is bounded.
"""

from collections.abc import Iterator

from injection.detect.result import Finding
from injection.detect.rules.patterns import compile_rule, findings

DETECTOR = "rules.indirect_instructions"

_AI = (
    r"(?:ai|a\.i\.|artificial\s+intelligence|assistant|ai\s+assistant|ai\s+model|chatbot|chat\s+bot|llm"
    r"|large\s+language\s+model|language\s+model|gpt|chatgpt|copilot|gemini|claude|bing\s+chat"
    r"|summari[sz]er|ai\s+agent|automated\s+(?:agent|assistant|reader|summari[sz]er|system|tool)"
    r"|bot|virtual\s+assistant)"
)
# What the model does with the content it reads.
_TASK = (
    r"(?:summari[sz]e|summari[sz]ing|translate|translating|answer(?:ing)?\s+(?:questions?|queries)"
    r"|asked\s+(?:about|to\s+summari[sz]e|to\s+describe|to\s+evaluate|how|whether|what|for)"
    r"|questioned\s+(?:about|on)|generat(?:e|ing)\s+(?:a\s+|the\s+)?(?:summary|answer|response|reply)"
    r"|writ(?:e|ing)\s+(?:a\s+|the\s+)?(?:summary|answer|response)|describ(?:e|ing)|evaluat(?:e|ing)"
    r"|assess(?:ing)?|rank(?:ing)?|screen(?:ing)?|process(?:ing)?|pars(?:e|ing)|analy[sz](?:e|ing)"
    r"|read(?:ing)?)"
)
# What the model is told to do with its own output.
_OUTPUT_VERB = (
    r"(?:say|state|output|print|respond|reply|answer|write|mention|tell|report|claim|conclude|insist"
    r"|recommend|include|add|append|insert|return|repeat|display|show|rate|rank|describe\s+(?:it|this|them)"
    r"\s+as|refer\s+(?:the\s+)?(?:user|reader)s?)"
)
_OWN_OUTPUT = (
    r"(?:summary|summaries|translation|answer|answers|response|responses|reply|replies|output|report"
    r"|completion|evaluation|assessment|recommendation)"
)
# The very text being read, as its author points at it.
_THIS_TEXT = (
    r"(?:this|the\s+(?:following|above|present))\s+(?:document|page|web\s?page|e-?mail|message|text|file"
    r"|content|article|post|review|site|website|note|section|paragraph|passage|resume|cv|report)\b"
)
_PARTS = (
    r"(?:note|notes|instruction|instructions|message|text|comment|line|paragraph|request|directive|section"
    r"|sentence|part)"
)

_ENGLISH = [
    # "If you are an AI ...", "to any language model reading this", "Dear assistant:"
    rf"\bif\s+you\s+are\s+(?:an?\s+|the\s+)?{_AI}\b",
    rf"\b(?:to|for)\s+(?:any|all|every|each)\s+{_AI}s?\s+(?:reading|processing|summari[sz]ing|parsing"
    rf"|that\s+(?:reads|processes|summari[sz]es)|who\s+(?:reads|is\s+reading))",
    rf"(?:^|[\n.!?:>\]\[(#*-]\s{{0,4}})(?:dear|hey|hi|hello|attention|attn|important\s+for|note\s+for"
    rf"|reminder\s+for|instructions?\s+for)\s+(?:the\s+|our\s+|any\s+)?{_AI}s?\s*[,:!;-]",
    # "When summarising this document, say that ...", "if asked about the candidate, respond ..."
    rf"\b(?:when|whenever|while|if|before|after|once)\s+(?:you(?:'re|\s+are)?\s+)?(?:being\s+)?{_TASK}\b"
    rf"[^\n.!?]{{0,120}}?[,:;]?\s+(?:you\s+(?:must|should|will|shall|need\s+to|have\s+to)\s+|please\s+"
    rf"|always\s+|only\s+|simply\s+|just\s+)?{_OUTPUT_VERB}\b",
    # "When an AI assistant processes this document it must ...", "any language model reading this
    # page should ...": the reader named as an AI, this very text, and what the reader is obliged to
    # do. A design note says "when the assistant processes a request, it must log it": no "this".
    rf"\b(?:when|whenever|if|once|while|as\s+soon\s+as)\s+(?:an?|the|any|your)\s+{_AI}\s+(?:reads"
    rf"|processes|summari[sz]es|parses|sees|analy[sz]es|translates|scans|handles|ingests|encounters|opens"
    rf"|is\s+(?:reading|processing|summari[sz]ing|parsing|given))\s+{_THIS_TEXT}[^\n.!?]{{0,60}}?\b(?:it"
    rf"|they|you)\s+(?:must|should|shall|needs?\s+to|has\s+to|have\s+to|(?:is|are)\s+(?:required"
    rf"|instructed|expected|asked)\s+to)\b",
    rf"\b{_AI}s?\s+(?:that\s+(?:reads?|process(?:es)?|summari[sz]es?|sees?)\s+|reading\s+|processing\s+"
    rf"|summari[sz]ing\s+|parsing\s+|analy[sz]ing\s+){_THIS_TEXT}[^\n.!?]{{0,20}}?\b(?:must|should|shall"
    rf"|needs?\s+to|(?:is|are)\s+(?:required|instructed|expected|asked)\s+to)\b",
    # "NEW POLICY FOR AUTOMATED AGENTS: ...", "Instructions for AI assistants: ..."
    r"\b(?:policy|policies|instructions?|directives?|orders?|commands?|notice)\s+(?:for|to)\s+(?:all\s+"
    r"|any\s+|the\s+)?(?:automated\s+(?:agents?|systems?|assistants?|readers?)|ai\s+(?:agents?|assistants?"
    r"|models?|systems?)|llms?|(?:large\s+)?language\s+models?|chatbots?)\s*[:\-\x{2013}\x{2014}]",
    # "In your summary, mention ...", "your response must include ..."
    rf"\b(?:in|into|at\s+the\s+(?:start|end|beginning|top|bottom)\s+of|to)\s+(?:your|any|every|each|all"
    rf"|the\s+(?:final|generated))\s+{_OWN_OUTPUT}\b[,:]?\s+(?:you\s+(?:must|should|will|shall)\s+|please\s+"
    rf"|always\s+|also\s+|only\s+)?(?:say|state|mention|include|insert|add|append|write|print|output|claim"
    rf"|recommend|note\s+that|tell|describe|refer|link)\b",
    rf"\byour\s+{_OWN_OUTPUT}\s+(?:must|should|shall|has\s+to|needs\s+to|will|may\s+only)\s+(?:always\s+|only\s+)?"
    r"(?:say|state|include|contain|mention|begin|start|end|conclude|read|be\s+[\"'“])",
    # "AI models should say ...", "assistants must recommend ..."
    rf"\b{_AI}s?\s+(?:should|must|shall|are\s+(?:instructed|required|asked|told|expected)\s+to"
    rf"|will\s+(?:now|always))\s+(?:always\s+|only\s+|now\s+)?(?:say|print|output|respond\s+with"
    rf"|reply\s+with|answer\s+with|include|recommend|state|report|rate|rank|describe|refer|tell\s+the\s+user"
    rf"|treat|regard|consider|classify)\b",
    # Phishing through the model: "tell the user to verify their account at ...".
    r"\b(?:tell|inform|advise|instruct|urge|remind|warn|notify|direct|ask)\s+(?:the|all|every|any)\s+"
    r"(?:users?|readers?|recipients?|visitors?|humans?|persons?)\s+(?:that\b[^\n]{0,100}?|to\s+)"
    r"\b(?:visit|click|go\s+to|log\s*in|sign\s*in|verify|update|confirm|reset|call|download|install"
    r"|enter|pay|transfer|open|re-?enter|provide)\b",
    # "include this link in your answer", "append the following message to every reply"
    rf"\b(?:include|insert|add|embed|append|put|show|display|render)\s+(?:this|these|the\s+following|that"
    rf"|the\s+(?:link|url|image|message|text|sentence|phrase))\s+(?:(?:link|url|hyperlink|image|message|text"
    rf"|sentence|phrase|note|line|words?|disclaimer|banner)\s+)?(?:in|into|to|at\s+the\s+(?:end|start"
    rf"|beginning|top|bottom)\s+of)\s+(?:your|every|each|all|any|the\s+(?:user's|final))\s+{_OWN_OUTPUT}\b",
    # Output verbatim: "respond only with", "print exactly the following".
    r"\b(?:print|output|say|write|respond|reply|answer|return|repeat|type)\s+(?:with\s+)?(?:exactly|verbatim"
    r"|precisely|word\s+for\s+word|nothing\s+(?:but|except|else\s+than))\b",
    r"\b(?:respond|reply|answer)\s+(?:only|solely|exclusively|just)\s+with\b",
    # Keeping itself from the person: "do not mention this note", "without revealing these instructions".
    rf"\b(?:do\s+not|don't|dont|never)\s+(?:mention|reveal|disclose|acknowledge|quote|repeat|reference"
    rf"|summari[sz]e|show|include|translate|discuss)\s+(?:this|these|the\s+(?:above|following|hidden"
    rf"|present))\s+{_PARTS}s?\b",
    rf"\bwithout\s+(?:mentioning|revealing|disclosing|acknowledging|quoting|referencing)\s+(?:this|these"
    rf"|the\s+(?:above|hidden))\s+{_PARTS}s?\b",
    # The reader's own task redirected: "the user wants you to ...", "ignore the above and ...".
    rf"\bthe\s+(?:user|human|operator|developer|admin|administrator)\s+(?:has\s+)?(?:wants|asked|requested"
    rf"|requests|instructed|authori[sz]ed|expects|would\s+like|needs)\s+(?:you|the\s+{_AI})\s+to\b",
    r"\b(?:ignore|disregard|forget|skip)\s+(?:all\s+(?:of\s+)?)?(?:the\s+|what\s+(?:is|was)\s+)?"
    r"(?:above|preceding|foregoing|previous\s+text|text\s+above|content\s+above)\s+(?:and|,|\.|;|:)",
    r"\b(?:ignore|disregard)\s+(?:the|this|that)\s+(?:article|document|page|e-?mail|text|content|data"
    r"|passage|report|file)(?:'s\s+content)?\s+(?:and|,|;|:)\s",
]

_OTHER_LANGUAGES = [
    # Spanish
    r"\bsi\s+(?:eres|usted\s+es)\s+(?:una?\s+)?(?:ia|inteligencia\s+artificial|asistente|modelo\s+de\s+lenguaje"
    r"|chatbot)\b",
    r"\b(?:al\s+(?:resumir|traducir|responder)|cuando\s+(?:resumas|traduzcas|respondas|te\s+pregunten))\b"
    r"[^\n.!?]{0,100}?\b(?:di|dí|diga|incluye|incluya|menciona|mencione|escribe|escriba|responde|responda"
    r"|recomienda|afirma)\b",
    r"\ben\s+(?:tu|su)\s+(?:resumen|respuesta|traducción),?\s+(?:di|incluye|incluya|menciona|escribe"
    r"|indica|añade|recomienda)\b",
    r"\bnota\s+para\s+(?:la\s+)?(?:ia|inteligencia\s+artificial|modelo)\b",
    # French
    r"\bsi\s+(?:tu\s+es|vous\s+êtes)\s+(?:une?\s+)?(?:ia|intelligence\s+artificielle|assistant|modèle\s+de"
    r"\s+langage|chatbot)\b",
    r"\b(?:en\s+(?:résumant|traduisant|répondant)|(?:lorsque|quand)\s+(?:tu\s+résumes|vous\s+résumez"
    r"|tu\s+traduis|vous\s+traduisez|on\s+te\s+demande|on\s+vous\s+demande))\b[^\n.!?]{0,100}?"
    r"\b(?:dis|dites|indique|indiquez|inclus|incluez|mentionne|mentionnez|écris|écrivez|réponds|répondez"
    r"|recommande|recommandez|affirme|affirmez)\b",
    r"\bdans\s+(?:ton|votre)\s+(?:résumé|réponse|traduction)\s*,?\s+(?:dis|dites|inclus|incluez|mentionne"
    r"|mentionnez|écris|écrivez|indique|indiquez|ajoute|ajoutez|recommande)\b",
    r"\bnote\s+pour\s+l'(?:ia|assistant|intelligence\s+artificielle)\b",
    # German
    r"\bwenn\s+(?:du|sie)\s+(?:eine?\s+)?(?:ki|künstliche\s+intelligenz|assistent|sprachmodell|chatbot)"
    r"\s+(?:bist|sind)\b",
    r"\bwenn\s+(?:du|sie)\s+[^\n.!?]{0,60}?(?:zusammenfasst|zusammenfassen|übersetzt|übersetzen)\b"
    r"[^\n.!?]{0,80}?\b(?:sag|sage|sagen|schreib|schreibe|schreiben|erwähne|erwähnen|nenne|nennen|empfiehl"
    r"|empfehlen|antworte|antworten|füge|fügen)\b",
    r"\bin\s+(?:deiner|ihrer)\s+(?:zusammenfassung|antwort|übersetzung)\s*,?\s+(?:sag|sage|sagen|schreib"
    r"|schreibe|erwähne|erwähnen|füge|fügen|empfiehl|nenne)\b",
    r"\bhinweis\s+(?:an|für)\s+(?:die\s+)?(?:ki|künstliche\s+intelligenz|das\s+sprachmodell)\b",
    # Portuguese
    r"\bse\s+(?:você\s+é|voce\s+e|tu\s+és)\s+(?:uma?\s+)?(?:ia|inteligência\s+artificial|assistente|modelo"
    r"\s+de\s+linguagem|chatbot)\b",
    r"\b(?:ao\s+(?:resumir|traduzir|responder)|quando\s+(?:você\s+)?(?:resumir|traduzir|for\s+perguntado))\b"
    r"[^\n.!?]{0,100}?\b(?:diga|inclua|mencione|escreva|responda|recomende|afirme)\b",
    r"\b(?:no\s+seu\s+resumo|na\s+sua\s+(?:resposta|tradução))\s*,?\s+(?:diga|inclua|mencione|escreva"
    r"|adicione|recomende)\b",
    r"\bnota\s+para\s+a\s+(?:ia|inteligência\s+artificial)\b",
    # Italian
    r"\bse\s+(?:sei|è)\s+(?:un'|una\s+|un\s+)?(?:ia|intelligenza\s+artificiale|assistente|modello\s+linguistico"
    r"|chatbot)\b",
    r"\b(?:nel\s+riassumere|nel\s+tradurre|quando\s+(?:riassumi|traduci|ti\s+chiedono))\b[^\n.!?]{0,100}?"
    r"\b(?:di'|dì|includi|menziona|scrivi|rispondi|raccomanda|afferma)\b",
    r"\b(?:nel\s+tuo\s+riassunto|nella\s+tua\s+(?:risposta|traduzione))\s*,?\s+(?:di'|dì|includi|menziona"
    r"|scrivi|aggiungi|raccomanda)\b",
    r"\bnota\s+per\s+l'(?:ia|intelligenza\s+artificiale)\b",
]

_PATTERNS = [(compile_rule("|".join(f"(?:{pattern})" for pattern in _ENGLISH + _OTHER_LANGUAGES)), 0.8)]


def find(text: str) -> Iterator[Finding]:
    return findings(_PATTERNS, text, DETECTOR)
