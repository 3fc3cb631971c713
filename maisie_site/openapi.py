"""Make the OpenAPI schema describe the wire format: success bodies inside `{"data": …}`."""


def wrap_in_envelope(result, generator, request, public):
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            for code, response in operation.get("responses", {}).items():
                if not str(code).startswith("2"):
                    continue
                media = response.get("content", {}).get("application/json")
                if not media or "schema" not in media:
                    continue
                schema = media["schema"]
                if "data" in schema.get("properties", {}):
                    continue  # pages carry their own envelope
                media["schema"] = {"type": "object", "properties": {"data": schema}, "required": ["data"]}
            if "delete" in methods and operation is methods["delete"]:
                operation["responses"] = {
                    "200": {
                        "description": "Deleted.",
                        "content": {
                            "application/json": {
                                "schema": {"type": "object", "properties": {"status": {"type": "string"}}}
                            }
                        },
                    },
                    **{code: r for code, r in operation["responses"].items() if not str(code).startswith("2")},
                }
    return result
