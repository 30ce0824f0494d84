"""Helpers that belong to the contract itself (protos/weir/v1) rather than to one service:
which services are public, and how a message prints as (and parses from) the REST API's JSON.

Every process that speaks the REST contract uses these, so that the same message always
yields the same bytes whether the gateway transcodes it or a service renders it itself.
"""
