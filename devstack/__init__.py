"""Local stack: the Jira Cloud emulator, moto server, a Docker-free `sam local invoke`, the demo."""
