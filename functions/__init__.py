"""Lambda functions: one folder each, a thin handler in app.py over the jira_connect layer."""
