"""View helpers shared by the blueprints."""
