from runtime.service import serve
from services.notifications.bootstrap import DEFINITION

serve(DEFINITION)
