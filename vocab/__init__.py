"""The shared vocabulary: the words every layer speaks and none owns.

Message dataclasses (`vocab.messages`), the error base and `DatabaseUnavailable`
(`vocab.errors`), the condition language of flows and policy eligibility
(`vocab.conditions`), policy ids (`vocab.policies`), case categories (`vocab.cases`) and the
main menu as data (`vocab.menu`). nlu/ and storage/ both need these words and may not import
each other, so they live here, below both. This package imports nothing of ours.
"""
