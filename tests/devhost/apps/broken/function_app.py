"""An app that cannot be imported: devhost must say so in one line and exit 1."""

import azure.durable_functions as df

app = df.DFApp()
raise RuntimeError("database settings are missing")
