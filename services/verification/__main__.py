from runtime.service import serve
from services.verification.bootstrap import DEFINITION

serve(DEFINITION)
