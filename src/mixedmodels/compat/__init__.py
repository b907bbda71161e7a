"""Drop-in facades for users of other libraries."""
