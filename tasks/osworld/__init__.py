"""OSWorld's task format and vocabulary: task specs and suite loading (spec), one task's live state
(context), setup steps, getters, metrics, the vocabulary that names them, and OSWorld's scoring rules."""
