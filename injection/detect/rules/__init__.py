"""Rule detectors: each module finds one family of injection signs in a stretch of text.

Every pattern runs on RE2 (linear time) and every quantifier is bounded, so the longest match a
rule can make is known: the scanner's chunk overlap is larger than that (scanner.CHUNK_OVERLAP).
"""
