"""Activities: the side effects of the workflows; idempotent and thin, they call adapters/.

An activity's input is annotated with a class (`dict`, never `dict[str, Any]` or `str | None`):
the Python worker refuses to index an app whose trigger parameter carries an annotation that is
no class ("invalid non-type annotation"), and on Azure the app then runs with no functions at
all. devhost refuses such an app at start for the same reason.
"""
