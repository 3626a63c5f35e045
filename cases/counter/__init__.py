"""Counter mode (线下渠道): services, pages, API and templates for clerks at a desk."""
