"""Settings by concern, the service's clock and the dated rule tables; imports nothing of ours.

``settings`` gathers one class per concern (``database``, ``auth``, ``server``, ``intake``,
``data``); ``clock`` is the one "now"; ``tables`` says where the TOML tables with the
source of every figure (``rules.toml``, ``certificates.toml``) are (DESIGN.md, Layout).
"""
