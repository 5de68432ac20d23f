"""The LD-DIM study: tables and a figure of its claims from result rows."""
