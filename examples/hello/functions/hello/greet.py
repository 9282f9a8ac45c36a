import json


def handler(event, context):
    name = json.loads(event).get("name", "world")  # the step's input, as JSON bytes
    return {"greeting": f"Hello, {name}!"}  # becomes the step's $local
