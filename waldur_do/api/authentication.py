"""Token authentication as Waldur does it: the Authorization header, or ?x-auth-token= when it is absent."""

from rest_framework import authentication


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`; its `WWW-Authenticate: Token` header is what a 401 advertises."""


class QueryTokenAuthentication(TokenAuthentication):
    """`?x-auth-token=<key>`, for clients that cannot set headers (links pasted in a browser, EventSource)."""

    query_param = "x-auth-token"

    def authenticate(self, request):
        if authentication.get_authorization_header(request):
            return None
        key = request.query_params.get(self.query_param)
        if key is None:
            return None
        return self.authenticate_credentials(key)
