"""A user gives hpo something wrong: one line saying what, exit code 2, no traceback, and the
study already stored (every test's folder holds a copy of one stored under the same name,
"tiny", that most bad study files use) left as it was: the same studies and trials in the
store, the same bytes in every file below runs/.

The catalog holds 72 kinds of bad input, a kind being one bad input (a value, a field, a file,
a source of it), counted once however many commands are given it: config 19, search space
25, data 10, store 15, CLI 3. One more, a database server that does not answer, is exit 1
by design: nothing the user typed need be wrong.
"""
