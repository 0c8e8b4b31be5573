"""What several studies share: the cell parts their claims read (``cell_parts``) and the singular
subspaces of a model's input Jacobian (``singular_subspaces``). Any study package may import it;
it imports no study."""
