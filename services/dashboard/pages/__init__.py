"""The dashboard's pages; each registers itself with dash.register_page from register()."""
