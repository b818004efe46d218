import gc

from runtime.service import serve
from services.checkin.bootstrap import DEFINITION

# what start-up loaded (the modules, their classes, schemas and routes) lives as long as the
# process: out of the cyclic collector's sight, a full collection walks only what came after
# (docs/performance.md, "Session 6: CPU per ticket")
gc.freeze()
serve(DEFINITION)
