"""HTTP triggers: starters, status views, portal actions and the OpenAPI document."""
