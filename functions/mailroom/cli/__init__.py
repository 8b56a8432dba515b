"""The staff CLI (`mailroom`): click commands over the catalogue and the bucket."""
