"""run/ray"""
