"""The Textual dashboard: app, screens, widgets. Renders snapshots; never calls the engine itself."""
