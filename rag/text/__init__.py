"""Text processing every layer shares: language detection and codes (`language`),
search tokens per language (`lexical`), sentences (`sentences`) and passages
(`chunking`). Pure; imports only records, settings and errors.
"""
