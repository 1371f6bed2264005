"""Helpers for n8n items shared by the runner and the nodes."""

# One shared {"item": i} per index: a run over a million items would otherwise hold a million
# identical little dicts per node (184 bytes each). Never mutate a pairedItem in place.
_PAIRED = []


def paired_items(count):
    """The shared pairedItem dicts {"item": i} for i < count (index into the returned list)."""
    if len(_PAIRED) < count:
        _PAIRED.extend({"item": i} for i in range(len(_PAIRED), count))
    return _PAIRED


def paired_item(index, input_index=0):
    """pairedItem for item `index` of input `input_index`."""
    if input_index:
        return {"item": index, "input": input_index}
    return paired_items(index + 1)[index]
