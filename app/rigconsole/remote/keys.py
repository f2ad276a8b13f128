"""aiohttp storage keys shared by the server and its handlers."""

from aiohttp import web

from .tokens import TokenInfo

#: the RemoteServer serving an app
SERVER_KEY = web.AppKey("server", object)
#: the TokenInfo of the request's token (set by the auth middleware)
WHO_KEY = web.RequestKey("who", TokenInfo) if hasattr(web, "RequestKey") else "who"
