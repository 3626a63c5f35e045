"""Evaluation and transparency: public statistics and public case tracking, with their pages,
API and templates."""
