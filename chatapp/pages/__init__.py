"""The app's pages: each a function returning the page's component."""
