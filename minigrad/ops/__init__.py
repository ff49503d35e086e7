"""The ops: each a Function subclass with forward and backward side by side."""
