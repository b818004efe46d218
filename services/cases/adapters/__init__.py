"""External parties of the cases service, behind the interfaces cases speaks to them."""
