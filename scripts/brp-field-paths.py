#!/usr/bin/env python3
"""Derive every valid `fields` path of the BRP Personen API from its OpenAPI document.

Writes one path per line for `Persoon` (RaadpleegMetBurgerservicenummer) and for
`PersoonBeperkt` (the Zoek* queries). Group paths (`naam`) and leaf paths
(`naam.voornamen`) are both valid; subtypes of a discriminated schema contribute the
union of their properties; paths through automatically delivered fields are left out,
because the spec forbids asking for them.

Usage: scripts/brp-field-paths.py ../shared/reference/brp-personen-openapi.yaml crates/loket-registers/src/brp/
"""
import sys
import yaml

AUTOMATIC = {"inOnderzoek", "geheimhoudingPersoonsgegevens", "opschortingBijhouding", "rni", "verificatie"}

def main(spec_path, out_dir):
    spec = yaml.safe_load(open(spec_path))
    schemas = spec["components"]["schemas"]

    def resolve(node):
        while "$ref" in node:
            node = schemas[node["$ref"].split("/")[-1]]
        return node

    # name -> every schema node that defines it: subtypes may give one name different
    # shapes (verblijfadres is binnenland, buitenland or locatie), and all of them count.
    def properties(name_or_node, seen):
        node = resolve(name_or_node) if isinstance(name_or_node, dict) else schemas[name_or_node]
        props = {}
        def merge(more):
            for key, nodes in more.items():
                props.setdefault(key, []).extend(nodes)
        for part in node.get("allOf", []):
            merge(properties(part, seen))
        merge({key: [value] for key, value in node.get("properties", {}).items()})
        mapping = node.get("discriminator", {}).get("mapping", {})
        for target in mapping.values():
            sub = target.split("/")[-1]
            if sub not in seen:
                merge(properties(sub, seen | {sub}))
        return props

    def walk(schema_name, prefix, seen, out):
        for prop, nodes in properties(schema_name, seen).items():
            if prop in AUTOMATIC:
                continue
            path = f"{prefix}{prop}"
            out.add(path)
            for target in nodes:
                if target.get("type") == "array" or "items" in target:
                    target = target.get("items", {})
                ref = target.get("$ref")
                if ref:
                    name = ref.split("/")[-1]
                    if name not in seen:
                        walk(name, path + ".", seen | {name}, out)
                elif target.get("allOf") or target.get("properties"):
                    walk(target, path + ".", seen, out)

    for schema, file in [("Persoon", "fields_persoon.txt"), ("PersoonBeperkt", "fields_persoon_beperkt.txt")]:
        out = set()
        walk(schema, "", {schema}, out)
        with open(f"{out_dir}/{file}", "w") as f:
            f.write("\n".join(sorted(out)) + "\n")
        print(f"{schema}: {len(out)} paths -> {out_dir}/{file}")

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
