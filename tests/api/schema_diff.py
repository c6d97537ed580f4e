"""The differences between two OpenAPI documents, operation by operation, as sentences such as
`digitalocean_droplets_list: parameter o added` or `digitalocean_droplets_create: 201 customer_name nullable
false -> true`. tests/api/test_schema_compat.py compares ours with Waldur's published schema through it."""

from __future__ import annotations

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head")


class Document:
    def __init__(self, schema: dict):
        self.schema = schema

    def resolve(self, node):
        """`node` with every `$ref` at its top replaced by what it names (a single-entry `allOf` too)."""
        while isinstance(node, dict):
            if "$ref" in node:
                _, *parts = node["$ref"].split("/")
                target = self.schema
                for part in parts:
                    target = target[part]
                node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            elif len(node.get("allOf", ())) == 1:
                node = {**self.resolve(node["allOf"][0]), **{k: v for k, v in node.items() if k != "allOf"}}
            else:
                return node
        return node

    def operations(self) -> dict[str, tuple[str, str, dict]]:
        return {
            operation["operationId"]: (path, method, operation)
            for path, item in self.schema["paths"].items()
            for method, operation in item.items()
            if method in HTTP_METHODS
        }

    def describe(self, schema) -> dict:
        """The facts of a schema that the comparison looks at."""
        schema = self.resolve(schema or {})
        enum = schema.get("enum") or ()
        facts = {
            # drf-spectacular's BlankEnum (`enum: [""]`) names no type: its values say it.
            "type": schema.get("type")
            or ("string" if enum and all(isinstance(v, str) for v in enum) else None),
            "format": schema.get("format"),
            "nullable": bool(schema.get("nullable")),
            "enum": sorted(map(str, self._enum(schema))) or None,
        }
        if "oneOf" in schema or "anyOf" in schema:
            variants = [self.describe(v) for v in schema.get("oneOf", schema.get("anyOf"))]
            facts["type"] = facts["type"] or "|".join(sorted({str(v["type"]) for v in variants if v["type"]}))
            facts["enum"] = sorted({e for v in variants for e in v["enum"] or ()}) or None
            facts["nullable"] = facts["nullable"] or any(v["nullable"] for v in variants)
        if facts["type"] == "array":
            facts["items"] = self.describe(schema.get("items"))
        return facts

    def _enum(self, schema) -> list:
        return [value for value in schema.get("enum") or () if value not in ("", None)]


def _facts_diff(where: str, ours: dict, theirs: dict) -> list[str]:
    found = []
    for key in ("type", "format", "nullable"):
        if ours[key] != theirs[key]:
            found.append(f"{where} {key} {_text(theirs[key])} -> {_text(ours[key])}")
    if ours["enum"] != theirs["enum"]:
        if ours["enum"] is None or theirs["enum"] is None:
            found.append(
                f"{where} enum {_text(theirs['enum'] and 'enum')} -> {_text(ours['enum'] and 'enum')}"
            )
        else:
            added, removed = set(ours["enum"]) - set(theirs["enum"]), set(theirs["enum"]) - set(ours["enum"])
            found += [f"{where} enum adds {value}" for value in sorted(added)]
            found += [f"{where} enum lacks {value}" for value in sorted(removed)]
    if ours.get("items") and theirs.get("items"):
        found += _facts_diff(f"{where}[]", ours["items"], theirs["items"])
    return found


def _text(value) -> str:
    return (
        {None: "none", True: "true", False: "false"}.get(value, str(value))
        if not isinstance(value, str)
        else value
    )


def _changed(what: str, theirs, ours) -> str:
    """`<what> <Waldur's> -> <ours>` for a flag."""
    return f"{what} {_text(bool(theirs))} -> {_text(bool(ours))}"


def _object_diff(where: str, ours_doc: Document, ours, theirs_doc: Document, theirs) -> list[str]:
    """Properties of two object schemas: names, facts, required, readOnly/writeOnly."""
    ours, theirs = ours_doc.resolve(ours or {}), theirs_doc.resolve(theirs or {})
    if ours.get("type") == "array" and theirs.get("type") == "array":
        ours, theirs = ours_doc.resolve(ours.get("items", {})), theirs_doc.resolve(theirs.get("items", {}))
    found = []
    our_props, their_props = ours.get("properties", {}), theirs.get("properties", {})
    for name in sorted(set(our_props) - set(their_props)):
        found.append(f"{where} {name} added")
    for name in sorted(set(their_props) - set(our_props)):
        found.append(f"{where} {name} missing")
    our_required, their_required = set(ours.get("required", ())), set(theirs.get("required", ()))
    for name in sorted(set(our_props) & set(their_props)):
        our_prop, their_prop = ours_doc.resolve(our_props[name]), theirs_doc.resolve(their_props[name])
        found += _facts_diff(f"{where} {name}", ours_doc.describe(our_prop), theirs_doc.describe(their_prop))
        if our_prop.get("type") == "array" and their_prop.get("type") == "array":  # a list of objects
            found += _object_diff(
                f"{where} {name}[]", ours_doc, our_prop["items"], theirs_doc, their_prop["items"]
            )
        for flag in ("readOnly", "writeOnly"):
            if bool(our_prop.get(flag)) != bool(their_prop.get(flag)):
                found.append(_changed(f"{where} {name} {flag}", their_prop.get(flag), our_prop.get(flag)))
        if (name in our_required) != (name in their_required):
            found.append(
                f"{where} {name} required {_text(name in their_required)} -> {_text(name in our_required)}"
            )
    return found


def _json_schema(doc: Document, holder) -> dict | None:
    holder = doc.resolve(holder or {})
    content = holder.get("content", {}).get("application/json")
    return content.get("schema") if content else None


def _parameters(doc: Document, operation) -> dict[tuple[str, str], dict]:
    return {(p["in"], p["name"]): p for p in map(doc.resolve, operation.get("parameters", ()))}


def differences(ours_schema: dict, theirs_schema: dict) -> set[str]:
    """Every difference, for the operations of `theirs_schema` (ours may have more operations)."""
    ours, theirs = Document(ours_schema), Document(theirs_schema)
    found: list[str] = []
    our_ops = ours.operations()
    for op_id, (path, method, theirs_op) in sorted(theirs.operations().items()):
        if op_id not in our_ops:
            found.append(f"{op_id}: missing")
            continue
        our_path, our_method, ours_op = our_ops[op_id]
        if (our_path, our_method) != (path, method):
            found.append(f"{op_id}: at {our_method.upper()} {our_path}, not {method.upper()} {path}")
        found += [f"{op_id}: {line}" for line in _operation_diff(ours, ours_op, theirs, theirs_op)]
    found += _security_diff(ours_schema, theirs_schema)
    return set(found)


def _operation_diff(ours: Document, ours_op: dict, theirs: Document, theirs_op: dict) -> list[str]:
    found = []
    our_params, their_params = _parameters(ours, ours_op), _parameters(theirs, theirs_op)
    for key in sorted(set(our_params) - set(their_params)):
        found.append(f"parameter {key[1]} added")
    for key in sorted(set(their_params) - set(our_params)):
        found.append(f"parameter {key[1]} missing")
    for key in sorted(set(our_params) & set(their_params)):
        ours_p, theirs_p = our_params[key], their_params[key]
        where = f"parameter {key[1]}"
        found += _facts_diff(
            where, ours.describe(ours_p.get("schema")), theirs.describe(theirs_p.get("schema"))
        )
        if bool(ours_p.get("required")) != bool(theirs_p.get("required")):
            found.append(_changed(f"{where} required", theirs_p.get("required"), ours_p.get("required")))
    our_body, their_body = ours_op.get("requestBody"), theirs_op.get("requestBody")
    if bool(our_body) != bool(their_body):
        found.append(f"request body {'added' if our_body else 'missing'}")
    elif our_body:
        our_body, their_body = ours.resolve(our_body), theirs.resolve(their_body)
        if bool(our_body.get("required")) != bool(their_body.get("required")):
            found.append(
                _changed("request body required", their_body.get("required"), our_body.get("required"))
            )
        found += _object_diff(
            "request", ours, _json_schema(ours, our_body), theirs, _json_schema(theirs, their_body)
        )
    our_codes, their_codes = set(ours_op["responses"]), set(theirs_op["responses"])
    for code in sorted(our_codes - their_codes):
        found.append(f"status {code} added")
    for code in sorted(their_codes - our_codes):
        found.append(f"status {code} missing")
    for code in sorted(our_codes & their_codes):
        our_schema = _json_schema(ours, ours_op["responses"][code])
        their_schema = _json_schema(theirs, theirs_op["responses"][code])
        if bool(our_schema) != bool(their_schema):
            found.append(f"{code} body {'added' if our_schema else 'missing'}")
        elif our_schema:
            found += _object_diff(code, ours, our_schema, theirs, their_schema)
    our_security = {name for requirement in ours_op.get("security", ()) for name in requirement}
    their_security = {name for requirement in theirs_op.get("security", ()) for name in requirement}
    if not our_security and their_security:
        found.append("security missing")
    return found


def _security_diff(ours: dict, theirs: dict) -> list[str]:
    """Security schemes are compared by what they are (`apiKey in header Authorization`), not by name."""

    def kinds(schema):
        return {
            _scheme_kind(scheme): name
            for name, scheme in schema.get("components", {}).get("securitySchemes", {}).items()
        }

    our_kinds, their_kinds = kinds(ours), kinds(theirs)
    found = [f"security scheme {kind} added" for kind in sorted(set(our_kinds) - set(their_kinds))]
    found += [f"security scheme {kind} missing" for kind in sorted(set(their_kinds) - set(our_kinds))]
    return found


def _scheme_kind(scheme: dict) -> str:
    if scheme["type"] == "apiKey":
        return f"apiKey in {scheme['in']} {scheme['name']}"
    if scheme["type"] == "http":
        return f"http {scheme['scheme']}"
    return scheme["type"]
