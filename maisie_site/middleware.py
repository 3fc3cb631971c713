"""A Content-Security-Policy on every response (Django 5.2 has none built in).

The web UI loads only its own vendored CSS and JS and has no inline script or style, so the
policy is strict. Swagger UI (the API's browsable reference) bootstraps with an inline script,
so its page gets a policy that allows that one page's inline code and nothing from other hosts.
"""

STRICT = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Swagger UI's page: its inline bootstrap script and styles, assets still only from this host.
SWAGGER = STRICT.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)
INLINE_PAGES = ("/api/v1/docs/",)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = SWAGGER if request.path in INLINE_PAGES else STRICT
        return response
