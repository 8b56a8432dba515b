"""Tests of the staff CLI (`mailroom`)."""
